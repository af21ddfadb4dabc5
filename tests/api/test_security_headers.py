"""Security headers on every answer; the docs pages get a Content-Security-Policy allowing what they
load, their inline scripts by hash."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from api.security_headers import API_POLICY, SecurityHeaders
from tests.support.api import AUTH

COMMON = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: sources}."""
    directives = [part.split() for part in response.headers["content-security-policy"].split(";")]
    return {name: sources for name, *sources in directives}


def assert_api_headers(response) -> None:
    for name, value in COMMON.items():
        assert response.headers[name] == value, name
    assert response.headers["content-security-policy"] == API_POLICY
    assert policy(response) == {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}


def inline_script_hashes(html: str) -> set[str]:
    scripts = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert scripts, "the page has an inline script"
    digests = (base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() for script in scripts)
    return {f"'sha256-{digest}'" for digest in digests}


class TestEveryAnswer:
    def test_a_json_route(self, client):
        response = client.get("/api/products")
        assert response.status_code == 200
        assert_api_headers(response)

    def test_a_404_of_a_route_and_of_no_route(self, client):
        assert_api_headers(client.get("/api/products/987654"))
        no_route = client.get("/nothing/here")
        assert no_route.status_code == 404
        assert_api_headers(no_route)

    def test_refusals_and_errors(self, anonymous_client, client):
        assert_api_headers(anonymous_client.get("/api/products"))  # 401
        assert_api_headers(client.get("/api/products", params={"pagesize": 1}))  # 422
        assert_api_headers(anonymous_client.get("/health"))
        assert_api_headers(anonymous_client.get("/openapi.json"))
        assert_api_headers(anonymous_client.get("/metrics"))

    def test_a_rate_limited_answer(self, make_app):
        limited = TestClient(make_app(rate_limit_enabled=True, rate_limit_api="1/minute"), headers=AUTH)
        limited.get("/api/products")
        refused = limited.get("/api/products")
        assert refused.status_code == 429
        assert_api_headers(refused)

    def test_a_cors_preflight(self, make_app):
        origin = "https://dashboard.example.com"
        cors = TestClient(make_app(cors_origins=[origin]))
        preflight = cors.options(
            "/api/products", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
        )
        assert preflight.status_code == 200
        assert_api_headers(preflight)

    def test_a_header_the_route_set_itself_is_kept(self):
        def framed(request):
            return PlainTextResponse("", headers={"X-Frame-Options": "SAMEORIGIN"})

        app = SecurityHeaders(Starlette(routes=[Route("/", framed)]), docs={})
        response = TestClient(app).get("/")
        assert response.headers["x-frame-options"] == "SAMEORIGIN"
        assert response.headers["x-content-type-options"] == "nosniff"


class TestDocsPages:
    def test_swagger_ui_gets_what_it_loads_and_its_set_up_script_by_hash(self, anonymous_client):
        response = anonymous_client.get("/docs")
        assert response.status_code == 200
        for name, value in COMMON.items():
            assert response.headers[name] == value
        csp = policy(response)
        html = response.text
        (script_url,) = re.findall(r'<script src="([^"]+)"', html)
        (css_url,) = re.findall(r'<link type="text/css" rel="stylesheet" href="([^"]+)"', html)
        (icon_url,) = re.findall(r'<link rel="shortcut icon" href="([^"]+)"', html)
        assert script_url.startswith("https://cdn.jsdelivr.net/")
        assert set(csp["script-src"]) == {script_url} | inline_script_hashes(html)
        assert "'unsafe-inline'" not in csp["script-src"]
        assert "'unsafe-eval'" not in csp["script-src"]
        assert set(csp["style-src"]) == {css_url, "'unsafe-inline'"}
        assert set(csp["img-src"]) == {icon_url, "data:"}
        assert csp["connect-src"] == ["'self'"]  # the OpenAPI document, "Try it out"
        assert csp["default-src"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'none'"]

    def test_redoc_gets_what_it_loads(self, anonymous_client):
        response = anonymous_client.get("/redoc")
        assert response.status_code == 200
        csp = policy(response)
        html = response.text
        (script_url,) = re.findall(r'<script src="([^"]+)"', html)
        assert csp["script-src"] == [script_url]  # no inline script on this page
        assert "https://fonts.googleapis.com" in csp["style-src"]
        assert re.search(r'href="https://fonts\.googleapis\.com/', html)
        assert csp["font-src"] == ["https://fonts.gstatic.com"]
        assert csp["worker-src"] == ["blob:"]  # its search runs in a worker made from a blob
        assert csp["default-src"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'none'"]
        assert response.headers["x-frame-options"] == "DENY"

    def test_the_oauth2_redirect_page_runs_its_own_script_only(self, anonymous_client):
        response = anonymous_client.get("/docs/oauth2-redirect")
        assert response.status_code == 200
        csp = policy(response)
        assert set(csp["script-src"]) == inline_script_hashes(response.text)
        assert csp["default-src"] == ["'none'"]

    def test_the_hash_follows_the_page_it_is_served_with(self, make_app):
        proxied = TestClient(make_app(), root_path="/behind-a-proxy")
        response = proxied.get("/docs")
        assert "/behind-a-proxy/openapi.json" in response.text
        assert inline_script_hashes(response.text) <= set(policy(response)["script-src"])

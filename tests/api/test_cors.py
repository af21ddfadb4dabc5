"""CORS from CORS_ORIGINS: the listed origins may call the API from a browser, no other may."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api import AUTH

ALLOWED = "https://dashboard.example.com"
PREFLIGHT = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}


@pytest.fixture
def cors_client(make_app):
    return TestClient(make_app(cors_origins=[ALLOWED]), headers=AUTH)


class TestCors:
    def test_a_listed_origin_passes_the_preflight(self, cors_client):
        response = cors_client.options("/api/products", headers={"Origin": ALLOWED, **PREFLIGHT})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert "authorization" in response.headers["access-control-allow-headers"].lower()

    def test_another_origin_is_refused(self, cors_client):
        response = cors_client.options(
            "/api/products", headers={"Origin": "https://evil.example", **PREFLIGHT}
        )
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers
        answer = cors_client.get("/api/products", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in answer.headers

    def test_answers_carry_the_header_errors_included(self, cors_client):
        ok = cors_client.get("/api/products", headers={"Origin": ALLOWED})
        refused = cors_client.get(
            "/api/products", headers={"Origin": ALLOWED, "Authorization": "Bearer nope"}
        )
        unknown = cors_client.get("/api/products", params={"x": 1}, headers={"Origin": ALLOWED})
        assert (ok.status_code, refused.status_code, unknown.status_code) == (200, 401, 422)
        for response in (ok, refused, unknown):
            assert response.headers["access-control-allow-origin"] == ALLOWED

    def test_no_origins_configured_means_no_cors(self, client):
        response = client.get("/api/products", headers={"Origin": ALLOWED})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers

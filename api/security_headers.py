"""Security headers on every answer of the API (`SecurityHeaders`, a pure ASGI middleware outside
every other but the request metrics, so that errors, rate limits and CORS answers carry them too).

The rules:
- Every answer: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy:
  no-referrer`, and `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: the API
  answers JSON, CSV and spreadsheets; nothing in them may load, run, or be framed.
- The docs pages are HTML that FastAPI builds around Swagger UI (`/docs`, and its OAuth2 redirect
  page) and ReDoc (`/redoc`), loaded from a CDN (jsDelivr, fastapi.openapi.docs' defaults). Each
  gets a policy that allows what it loads and nothing else, framing still refused:
  - scripts: the CDN's bundle by its full URL, and the page's inline script (Swagger UI's set-up,
    the redirect page's) by the sha256 of the script as served (it names the OpenAPI URL, which
    follows the app's root path), never 'unsafe-inline';
  - styles: the CDN's stylesheet (Swagger UI) or Google Fonts' (ReDoc), and 'unsafe-inline':
    Swagger UI sets style attributes as it renders and ReDoc (styled-components) writes <style>
    elements at run time, with no nonce or hash to allow them by; a style runs no code;
  - images: the favicon and `data:` (both UIs draw their icons as data: SVGs); fonts: Google
    Fonts' (ReDoc); requests: the API itself ('self': the OpenAPI document, "Try it out");
    workers: `blob:` (ReDoc's search runs in a worker it makes from a blob).
  The URLs are read from FastAPI's own defaults, so a FastAPI that moves to another CDN version
  moves the policy with it.
- A header the route set itself is kept.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
CSP = b"content-security-policy"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.DOTALL | re.IGNORECASE)
MAX_PAGE_BYTES = 1024 * 1024  # a docs page is a few kB; anything larger is sent as it comes


def _default(function: Callable[..., Any], parameter: str) -> str:
    value = inspect.signature(function).parameters[parameter].default
    if not isinstance(value, str):
        raise TypeError(f"{function.__name__}({parameter}) has no URL by default")
    return value


SWAGGER_JS = _default(get_swagger_ui_html, "swagger_js_url")
SWAGGER_CSS = _default(get_swagger_ui_html, "swagger_css_url")
SWAGGER_FAVICON = _default(get_swagger_ui_html, "swagger_favicon_url")
REDOC_JS = _default(get_redoc_html, "redoc_js_url")
REDOC_FAVICON = _default(get_redoc_html, "redoc_favicon_url")
GOOGLE_FONTS_CSS = "https://fonts.googleapis.com"  # get_redoc_html(with_google_fonts=True), the default
GOOGLE_FONTS_FILES = "https://fonts.gstatic.com"
NONE = "'none'"


@dataclass(frozen=True, slots=True)
class PagePolicy:
    """A docs page's Content-Security-Policy, less its inline scripts' hashes (known once it is served)."""

    directives: tuple[tuple[str, tuple[str, ...]], ...]

    def render(self, hashes: Sequence[str] = ()) -> str:
        parts = []
        for name, sources in self.directives:
            allowed = (*sources, *hashes) if name == "script-src" else sources
            parts.append(f"{name} {' '.join(allowed) or NONE}")
        return "; ".join(parts)


_PAGE_END = (("frame-ancestors", (NONE,)), ("base-uri", (NONE,)), ("form-action", ("'self'",)))
SWAGGER_POLICY = PagePolicy(
    (
        ("default-src", (NONE,)),
        ("script-src", (SWAGGER_JS,)),
        ("style-src", (SWAGGER_CSS, "'unsafe-inline'")),
        ("img-src", (SWAGGER_FAVICON, "data:")),
        ("connect-src", ("'self'",)),
        *_PAGE_END,
    )
)
REDOC_POLICY = PagePolicy(
    (
        ("default-src", (NONE,)),
        ("script-src", (REDOC_JS,)),
        ("style-src", (GOOGLE_FONTS_CSS, "'unsafe-inline'")),
        ("font-src", (GOOGLE_FONTS_FILES,)),
        ("img-src", (REDOC_FAVICON, "data:")),
        ("connect-src", ("'self'",)),
        ("worker-src", ("blob:",)),
        *_PAGE_END,
    )
)
OAUTH2_REDIRECT_POLICY = PagePolicy((("default-src", (NONE,)), ("script-src", ()), *_PAGE_END))


def docs_policies(
    docs_url: str | None, redoc_url: str | None, oauth2_redirect_url: str | None
) -> dict[str, PagePolicy]:
    """The docs pages' policies by path, for the app's docs URLs (None: that page is off)."""
    pages = (
        (docs_url, SWAGGER_POLICY),
        (redoc_url, REDOC_POLICY),
        (oauth2_redirect_url, OAUTH2_REDIRECT_POLICY),
    )
    return {path: policy for path, policy in pages if path}


def script_hashes(html: bytes) -> list[str]:
    """The CSP sources allowing the page's inline scripts: `'sha256-<base64>'` of each one's text."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    ]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, docs: Mapping[str, PagePolicy]) -> None:
        self.app = app
        self.docs = dict(docs)  # path -> the page's policy (docs_policies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.docs.get(scope["path"])
        if policy is None:

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    _add_headers(message, API_POLICY)
                await send(message)

            await self.app(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, _PageSender(send, policy).send)


class _PageSender:
    """Holds a docs page back until its body is whole, to put its scripts' hashes in its policy."""

    def __init__(self, send: Send, policy: PagePolicy) -> None:
        self.downstream = send
        self.policy = policy
        self.start: Message | None = None
        self.body: list[bytes] = []
        self.size = 0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if self.start is None or message["type"] != "http.response.body":
            await self.downstream(message)
            return
        self.body.append(message.get("body", b""))
        self.size += len(self.body[-1])
        if message.get("more_body", False) and self.size <= MAX_PAGE_BYTES:
            return
        page = b"".join(self.body)
        # Larger than any docs page: no inline script is allowed.
        scripts = script_hashes(page) if self.size <= MAX_PAGE_BYTES else []
        start, self.start = self.start, None
        _add_headers(start, self.policy.render(scripts))
        await self.downstream(start)
        await self.downstream({**message, "body": page})
        self.body, self.size = [], 0


def _add_headers(message: Message, policy: str) -> None:
    headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    headers.extend((name, value) for name, value in HEADERS if name not in present)
    if CSP not in present:
        headers.append((CSP, policy.encode()))
    message["headers"] = headers

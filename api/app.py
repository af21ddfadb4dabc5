"""The FastAPI application: `uvicorn api.app:app`.

Middleware, outermost first: request metrics (api.metrics); security headers (api.security_headers);
the request id; CORS (when CORS_ORIGINS is set); unexpected errors as 500/503 without details
(api.errors); rate limits (api.rate_limit, when on); body size and JSON checks (api.body). Every route
also checks its query string and path (api.query_params). GET /metrics serves Prometheus.
"""

from __future__ import annotations

import uuid

import structlog
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body import BodyLimits
from api.errors import InternalErrors
from api.metrics import HttpMetrics, RequestMetrics, metrics_router
from api.query_params import check_query_and_path
from api.rate_limit import RateLimit, RateLimiter
from api.routes import ai, export, health, imports, pricing_profiles, products, rules
from api.security_headers import SecurityHeaders, docs_policies
from services.marketplaces import check_languages
from services.platform.logging import configure_logging
from services.platform.settings import Settings, get_settings


class RequestContext:
    """Binds a request id (the client's X-Request-ID, or a new one) to every log line of the
    request, and returns it in the response so a client can quote it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, path=scope["path"])

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    check_languages(settings.marketplace_languages)  # refused at start-up, not at the first copy
    app = FastAPI(
        title="Listing pipeline",
        version="0.1.0",
        description=(
            "Scraped offers in over a webhook; normalized, priced, scored and published in the background."
        ),
        dependencies=[Depends(check_query_and_path)],
    )
    # add_middleware wraps what was added before: the last one added runs first.
    app.add_middleware(BodyLimits)
    if settings.rate_limits_on:
        app.add_middleware(
            RateLimit, limiter=RateLimiter.from_settings(settings), proxy_hops=settings.trusted_proxy_hops
        )
    app.add_middleware(InternalErrors)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(RequestContext)
    app.add_middleware(
        SecurityHeaders,
        docs=docs_policies(app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url),
    )
    http_metrics = HttpMetrics()
    app.add_middleware(RequestMetrics, metrics=http_metrics, routes=app.router.routes)
    app.include_router(metrics_router(http_metrics, settings.metrics_token.get_secret_value()))
    app.include_router(health.router)
    app.include_router(imports.router)
    app.include_router(products.router)
    app.include_router(pricing_profiles.router)
    app.include_router(rules.router)
    app.include_router(ai.router)
    app.include_router(export.router)
    return app


app = create_app()

"""`GET /metrics` for Prometheus, and the request metrics behind it.

The rules:
- `http_requests_total{method, route, status}` and `http_request_duration_seconds{method, route,
  status}` (from the request's arrival to the last byte of its answer) count every request but those
  to /metrics itself. `route` is the route's template (`/api/products/{product_id}`), never the path
  the client sent (each product id would be a series of its own); a request refused before it
  reached its route (a rate limit, a body too large) is counted under the route it asked for;
  a path no route has is `unmatched`. `method` is one of the HTTP methods, or `other`.
- `GET /metrics` serves them with what the process's default registry holds: the process's own
  (`process_*`, `python_*`) and the product's metrics recorded in this process
  (services.platform.metrics). The workers' are served by their exporter (workers/metrics.py).
- It needs no API key, and is not in the OpenAPI document (it is for Prometheus, not for clients).
  With METRICS_TOKEN set, it wants `Authorization: Bearer <token>` (compared in constant time):
  401 otherwise. Open by default: see METRICS_TOKEN in services/platform/settings.py.
- Each app has its registry of request metrics: two apps in one process (the tests) count apart.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Sequence

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import RouteContext, iter_route_contexts
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# From a cached read to a 10,000-product webhook.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, float("inf"))


class _ProcessRegistry:
    """The process's default registry, collected with an app's own."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class HttpMetrics:
    """One app's request metrics, and the exposition of everything /metrics serves."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "Requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Seconds from a request's arrival to the end of its answer, by method, route and status.",
            ["method", "route", "status"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_ProcessRegistry())

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method if method in METHODS else "other", route, str(status))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(seconds)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The metrics in the format the scraper accepts (Prometheus' text format, or OpenMetrics)."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type


class RequestMetrics:
    """A pure ASGI middleware, the outermost: it times what every other one does too."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # the app's, filled as its routers are included
        self._contexts: list[RouteContext] | None = None  # its routes, included routers' flattened

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.observe(scope["method"], self.route_of(scope), status, time.perf_counter() - started)

    def route_of(self, scope: Scope) -> str:
        """The template of the route that answered (the router notes it in the scope), or of the one
        the request asked for when a middleware answered first."""
        route = scope.get("route") or self._matching(scope)
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        return template if isinstance(template, str) else UNMATCHED

    def _matching(self, scope: Scope) -> RouteContext | None:
        if self._contexts is None:  # once, at the first request: every router is included by then
            self._contexts = list(iter_route_contexts(self.routes))
        partial = None
        for context in self._contexts:
            match, _ = context.matches(scope)
            if match is Match.FULL:
                return context
            if match is Match.PARTIAL and partial is None:
                partial = context  # the path, with another method: the route answers 405
        return partial


def metrics_router(metrics: HttpMetrics, token: str) -> APIRouter:
    """GET /metrics; `token`: METRICS_TOKEN ("" for none)."""
    router = APIRouter()
    expected = token.encode()

    @router.get(METRICS_PATH, include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        if expected and not _bearer_matches(request.headers.get("authorization"), expected):
            return JSONResponse(
                {"detail": "METRICS_TOKEN is set: send Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return router


def _bearer_matches(authorization: str | None, expected: bytes) -> bool:
    scheme, _, credentials = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), expected)

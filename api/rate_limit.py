"""Rate limits per client, shared by every API instance: counters in Redis, checked before anything
else is done for the request (a pure ASGI middleware over slowapi's limiter and its storage).

The rules:
- `/health` is never limited.
- The webhook (`POST /api/import/webhook`) counts against RATE_LIMIT_WEBHOOK per client address:
  its senders share one secret, so the address tells them apart.
- Every other route counts against RATE_LIMIT_API per API key (the `Authorization: Bearer` or
  `X-API-Key` value, hashed: the key itself is never stored; it need not be valid, so guessing keys
  is limited too), or per client address when no key is sent.
- The client address is the connection's, or behind `TRUSTED_PROXY_HOPS` proxies (1 on Railway) the
  X-Forwarded-For entry that many from the right: each proxy appends the address it saw, so the
  entries to its left are whatever the client sent, and a client cannot dodge its limit by sending
  an X-Forwarded-For of its own.
- A budget is one or more limits ("10/second;600/minute"), counted in sliding-window counters (one
  Redis round trip per limit per request, in a thread: never on the event loop), so a burst at the
  turn of a minute cannot pass twice the limit.
- Checked before the body is read: `RateLimit` sits outside `api.body.BodyLimits`, so a limited
  client cannot make us read (or parse) a 20 MB webhook body, nor reach the secret or key check.
- Over a limit: 429 with `Retry-After` and `{"detail", "limit", "budget", "retry_after"}`.
- **Fail open**: when Redis does not answer (within `REDIS_TIMEOUT_SECONDS`), the request goes
  through and one warning is logged; the limiter then stays off for `RETRY_AFTER_FAILURE_SECONDS`
  instead of making every request wait for a dead Redis. A webhook is never refused because the
  counters are unreachable.

Why not slowapi's own wiring (`Limiter` on `app.state.limiter`, `SlowAPIASGIMiddleware`,
`@limiter.limit`): measured with slowapi 0.1.10 on a FastAPI app with this app's middleware order
(the rate limiter outside a middleware that reads every POST body, as BodyLimits does):
- A per-route limit is checked in the decorator's wrapper, inside the route, after FastAPI resolved
  the route's dependencies; `SlowAPIASGIMiddleware` skips decorated routes. A client over a 3/minute
  webhook limit got its 429 only after each of its 1 MB bodies had been read (1,000,000 bytes read
  per refused request), and a sender with a wrong secret got 401 without ever being counted.
- The middleware cannot give the webhook a budget of its own instead: `application_limits` is one
  limit for every route; `default_limits` are counted per route (2/minute let through 2 requests to
  /a and 2 more to /b, not 2 in all); a limit given as a callable of the key raises inside the
  middleware (the limit group is read without the request) and the request ends in a 500.
- Fail open: with `swallow_errors=True` and a Redis that accepts connections but does not answer,
  every request waited the 0.5 s timeout, logged a traceback, and was answered 500 (the middleware
  then reads `request.state.view_rate_limit`, which was never set); the Redis call is synchronous
  on the event loop, so a `/health` request sent meanwhile waited 0.5 s too. With
  `in_memory_fallback_enabled` it keeps refusing, counting per process (posts 4 and 5 of 5 at
  3/minute got 429): not fail open either.
- Its 429 is `{"error": "Rate limit exceeded: 3 per 1 minute"}`, with `Retry-After` only when
  `headers_enabled` adds X-RateLimit-* headers to every response (one more Redis round trip each).
So the rules above are kept here, in our own middleware, on the storage and strategy slowapi's
`Limiter` builds (the `limits` library's Redis storage and sliding-window counter).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass

import anyio.to_thread
import structlog
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.strategies import RateLimiter as RateLimiterStrategy
from slowapi import Limiter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.platform.settings import Settings

log = structlog.get_logger(__name__)

WEBHOOK = "webhook"
API = "api"
WEBHOOK_PATH = "/api/import/webhook"
UNLIMITED_PATHS = frozenset({"/health"})
RETRY_AFTER_FAILURE_SECONDS = 5.0
# A rate limit must never hold a request up for long: Redis answers in well under a millisecond.
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Exceeded:
    """A refused request: which budget and limit, and how many seconds until it may try again."""

    budget: str
    limit: str
    retry_after: int

    @property
    def message(self) -> str:
        return f"rate limit exceeded: {self.limit} for {self.budget} requests; retry in {self.retry_after} s"


class RateLimiter:
    """Counts requests against named budgets; who is counted (an address, a hashed key) is the
    caller's choice."""

    def __init__(self, storage_uri: str, budgets: dict[str, str]) -> None:
        options: dict[str, float | str | bool] = {}
        if storage_uri.startswith(("redis://", "rediss://")):
            options = {
                "wrap_exceptions": True,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            }
        # slowapi's Limiter builds the storage and the strategy (the `limits` library's Redis storage
        # and sliding-window counter, the keys slowapi's own wiring would use); its middleware and
        # decorators are not used, for the reasons in this module's docstring.
        self._limiter: RateLimiterStrategy = Limiter(
            key_func=lambda request: "",  # unused: the middleware below says who is counted
            storage_uri=storage_uri,
            storage_options=options,  # type: ignore[arg-type]  # typed str, passed on to redis as given
            strategy="sliding-window-counter",
        ).limiter
        self._budgets: dict[str, list[RateLimitItem]] = {
            name: parse_many(limits) for name, limits in budgets.items()
        }
        self._off_until = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        # Without REDIS_URL (development with no Redis at all) each process counts on its own.
        return cls(
            settings.redis_url or "memory://",
            {WEBHOOK: settings.rate_limit_webhook, API: settings.rate_limit_api},
        )

    def hit(self, budget: str, who: str) -> Exceeded | None:
        """Count one request of `who` against `budget`; the first limit it exceeds, if any.

        Blocking (one Redis round trip per limit): call it from a thread, not the event loop."""
        if time.monotonic() < self._off_until:
            return None
        try:
            for item in self._budgets[budget]:
                if not self._limiter.hit(item, budget, who):
                    reset_at = self._limiter.get_window_stats(item, budget, who).reset_time
                    retry_after = max(1, math.ceil(reset_at - time.time()))
                    return Exceeded(budget, _spoken(item), retry_after)
        except StorageError as exc:
            self._fail_open(exc.storage_error)
        return None

    def _fail_open(self, error: Exception) -> None:
        with self._lock:
            if time.monotonic() < self._off_until:
                return  # another request logged it already
            self._off_until = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS
        log.warning(
            "rate_limit.unavailable",
            error=type(error).__name__,
            detail=str(error)[:200],
            action=f"requests are not rate limited for {RETRY_AFTER_FAILURE_SECONDS:g} s",
        )


def _spoken(item: RateLimitItem) -> str:
    """`120/minute`, `10/second`, `1000/2 hours`: the form the settings take."""
    unit = item.GRANULARITY.name
    return f"{item.amount}/{unit}" if item.multiples == 1 else f"{item.amount}/{item.multiples} {unit}s"


def budget_and_who(scope: Scope, proxy_hops: int = 0) -> tuple[str, str]:
    """(budget, who is counted) for a request."""
    address = f"address:{client_address(scope, proxy_hops)}"
    if scope["path"] == WEBHOOK_PATH:
        return WEBHOOK, address
    key = _presented_key(scope)
    if key:
        return API, "key:" + hashlib.sha256(key).hexdigest()[:32]
    return API, address


def client_address(scope: Scope, proxy_hops: int) -> str:
    """The connection's address, or the X-Forwarded-For entry `proxy_hops` from the right."""
    if proxy_hops > 0:
        forwarded = b",".join(value for name, value in scope["headers"] if name == b"x-forwarded-for")
        entries = [entry.strip() for entry in forwarded.decode("latin-1").split(",") if entry.strip()]
        if entries:
            return entries[-min(proxy_hops, len(entries))][:64]
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _presented_key(scope: Scope) -> bytes | None:
    x_api_key = None
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return bytes(value[7:].strip())  # the bearer one counts when both are sent, as in api.auth
        if name == b"x-api-key":
            x_api_key = bytes(value.strip())
    return x_api_key


class RateLimit:
    def __init__(self, app: ASGIApp, limiter: RateLimiter, proxy_hops: int = 0) -> None:
        self.app = app
        self.limiter = limiter
        self.proxy_hops = proxy_hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        budget, who = budget_and_who(scope, self.proxy_hops)
        exceeded = await anyio.to_thread.run_sync(self.limiter.hit, budget, who)
        if exceeded is None:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {
                "detail": exceeded.message,
                "limit": exceeded.limit,
                "budget": exceeded.budget,
                "retry_after": exceeded.retry_after,
            },
            status_code=429,
            headers={"Retry-After": str(exceeded.retry_after)},
        )
        await response(scope, receive, send)

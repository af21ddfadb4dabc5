"""Rate limits per client, before anything else is done for the request (a pure ASGI middleware).

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
- Over a limit: 429 with `Retry-After` and a JSON body naming the limit. Redis down: no limit
  (services.rate_limits fails open).
"""

from __future__ import annotations

import hashlib

import anyio.to_thread
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.rate_limits import API, WEBHOOK, RateLimiter

WEBHOOK_PATH = "/api/import/webhook"
UNLIMITED_PATHS = frozenset({"/health"})


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

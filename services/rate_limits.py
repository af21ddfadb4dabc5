"""Rate limits shared by every API instance: counters in Redis, with slowapi's limiter (and the
`limits` library under it).

The rules:
- Two budgets, each one or more limits ("10/second;600/minute"): `webhook` (RATE_LIMIT_WEBHOOK) and
  `api` (RATE_LIMIT_API). Who is counted (a client address, a hashed API key) is the caller's choice.
- Sliding-window counters (one Redis round trip per limit per request), so a burst at the turn of a
  minute cannot pass twice the limit.
- **Fail open**: when Redis does not answer, the request goes through and a warning is logged; the
  limiter then stays off for `RETRY_AFTER_FAILURE_SECONDS` instead of making every request wait for a
  dead Redis. A webhook is never refused because the counters are unreachable.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.strategies import RateLimiter as RateLimiterStrategy
from slowapi import Limiter

from services.settings import Settings

log = structlog.get_logger(__name__)

WEBHOOK = "webhook"
API = "api"
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
    def __init__(self, storage_uri: str, budgets: dict[str, str]) -> None:
        options: dict[str, float | str | bool] = {}
        if storage_uri.startswith(("redis://", "rediss://")):
            options = {
                "wrap_exceptions": True,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            }
        # slowapi's Limiter builds the storage and the strategy; its own middleware and decorators
        # are not used (they need `request` and `response` parameters on every route): api/rate_limit.py
        # asks this limiter before the request reaches a route.
        self._limiter: RateLimiterStrategy = Limiter(
            key_func=lambda request: "",
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

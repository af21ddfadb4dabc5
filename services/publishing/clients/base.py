"""What every marketplace client takes and answers, and the HTTP behaviour they share.

A client sends one marketplace's listings through that marketplace's own API (Amazon SP-API Listings
Items, eBay Sell Inventory, Kaufland Seller API v2). It is given `OutgoingListing`s (built by the
publish stage from publishable listings only) and answers with a `PublishOutcome` per listing: never
an exception for a listing the marketplace refused, so that one bad listing fails alone.

The clients are written on httpx, not on a vendor SDK: the maintained SDKs (python-amazon-sp-api,
ebaysdk) hard-code their hosts or wrap a different API generation, and none exists for Kaufland;
httpx takes a base URL (production, sandbox or a local fake) and a transport, which is what the
tests and the benchmark need.

Shared behaviour (`MarketplaceHttp`): every request waits for the marketplace's rate limit (a token
bucket per client, `requests_per_second`); a 429 is retried after the marketplace's hint
(`Retry-After`, else the limiter's interval doubled per attempt) and a 5xx or a connection error
after an exponential backoff, both within `retry_budget_seconds`; what is still failing after the
budget becomes a `failed` outcome with `retryable=True` (the stage tries again later), never a lost
listing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

import httpx

Outcome = Literal["published", "updated", "valid", "rejected", "failed"]
# published: the listing is live (or accepted and being processed) on the marketplace;
# updated: a live listing's price and quantity were changed (change-only sync);
# valid: a preview (dry run) found nothing to refuse; nothing was listed;
# rejected: the marketplace refused the listing, `issues` say why in its own words;
# failed: it could not be sent (not configured, credentials refused, still failing after retries).


class NotConfigured(RuntimeError):
    """The marketplace has no credentials in the settings; the message names the variables."""


@dataclass(frozen=True, slots=True)
class OutgoingListing:
    """One listing as it goes to a marketplace: gross price in the marketplace's currency, copy in its
    language. `ids` are the marketplace's ids known from an earlier publish (e.g. {"offer_id": ...}
    for eBay, {"unit_id": ...} for Kaufland), so that a retry reuses them instead of creating twice."""

    product_id: int
    marketplace: str  # our id: amazon_de, ebay_de, kaufland_de...
    sku: str
    title: str
    description_html: str
    description_text: str
    bullet_points: tuple[str, ...]
    brand: str | None
    ean: str | None
    images: tuple[str, ...]
    price: Decimal  # gross, two decimals
    currency: str
    quantity: int
    language: str  # "de", "pl"
    category: tuple[str, ...] = ()
    condition: Literal["new", "used"] = "new"
    handling_time_days: int = 2
    attributes: Mapping[str, str] = field(default_factory=dict)
    ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """What happened to one listing. `ids`: the marketplace's ids to keep (ASIN or SKU, offer id,
    listing id, unit id); `issues`: the marketplace's reasons, in its own words, with its codes;
    `request` and `response`: what was sent and answered (for the sync log, secrets left out)."""

    sku: str
    outcome: Outcome
    ids: Mapping[str, str] = field(default_factory=dict)
    issues: tuple[str, ...] = ()
    request: Mapping[str, Any] = field(default_factory=dict)
    response: Mapping[str, Any] = field(default_factory=dict)
    retryable: bool = False  # failed, but worth trying again later (throttled, 5xx, timeouts)


Remember = Callable[[OutgoingListing, Mapping[str, str]], None]


class MarketplaceClient(Protocol):
    """One marketplace account. Implementations: clients.amazon, clients.ebay, clients.kaufland."""

    marketplaces: frozenset[str]  # our ids it serves, e.g. {"amazon_de", "amazon_pl"}

    def publish(
        self,
        listings: Sequence[OutgoingListing],
        *,
        preview: bool = False,
        remember: Remember | None = None,
    ) -> list[PublishOutcome]:
        """List (or, with `preview`, only validate) each listing; idempotent by SKU: publishing a live
        SKU again replaces its content, never creates a second listing or offer. One outcome per
        listing, in order. `remember(listing, ids)` is called as soon as the marketplace has given
        an id that a retry must reuse (eBay's offerId before its publish call, Kaufland's unit id),
        so the caller can store it before the next request."""
        ...

    def update_offers(self, listings: Sequence[OutgoingListing]) -> list[PublishOutcome]:
        """Change only the price and quantity of listings that are live (their `ids` as published)."""
        ...

    def check_credentials(self) -> None:
        """Get a token (or make one signed request): raises CredentialsRefused with the marketplace's
        answer when the credentials do not work."""
        ...

    def close(self) -> None:
        """Close the HTTP connections."""
        ...


class CredentialsRefused(RuntimeError):
    """The marketplace refused the credentials (its answer is the message)."""


class Pacer(Protocol):
    """Paces requests: `wait()` returns when the next one may go (RateLimiter in one process,
    shared_pacing.SharedRateLimiter across processes)."""

    def wait(self) -> None: ...


class RateLimiter:
    """A token bucket: at most `per_second` requests a second on average, bursts of `burst`.
    Thread-safe; `wait()` sleeps until a request may go. `clock`/`sleep` are injectable for tests."""

    def __init__(
        self,
        per_second: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = per_second
        self.burst = burst
        self._tokens = float(burst)
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.per_second)
            self._last = now
            self._tokens -= 1
            delay = -self._tokens / self.per_second if self._tokens < 0 else 0.0
        if delay > 0:
            self._sleep(delay)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    budget_seconds: float = 60.0  # the longest one request may keep retrying
    first_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 20.0


class GaveUp(RuntimeError):
    """A request still throttled or failing after the retry budget; `response` is the last answer
    (None after a connection error), `reason` says what happened."""

    def __init__(self, reason: str, response: httpx.Response | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response


class MarketplaceHttp:
    """httpx with the marketplace's rate limit and retries (see the module's docstring). `prepare`
    adds auth to each attempt (a fresh token, a new signature and timestamp): a retried request is
    signed again."""

    def __init__(
        self,
        base_url: str,
        limiter: Pacer,
        retry: RetryPolicy = RetryPolicy(),
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self.limiter, self.retry = limiter, retry
        self._sleep, self._clock = sleep, clock
        self.requests_sent = 0  # every attempt, retries included (the benchmark reports it)

    def request(
        self,
        method: str,
        path: str,
        *,
        prepare: Callable[[httpx.Request], httpx.Request] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """The response of the first attempt that is neither a 429 nor a 5xx; GaveUp after the budget."""
        started = self._clock()
        backoff = self.retry.first_backoff_seconds
        while True:
            self.limiter.wait()
            request = self.client.build_request(method, path, **kwargs)
            if prepare is not None:
                request = prepare(request)
            self.requests_sent += 1
            response: httpx.Response | None
            try:
                response = self.client.send(request)
            except httpx.TransportError as error:
                response, reason = None, f"{type(error).__name__}: {error}"
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                reason = f"HTTP {response.status_code}"
            wait = _retry_after(response) if response is not None and response.status_code == 429 else None
            wait = backoff if wait is None else wait
            if self._clock() - started + wait > self.retry.budget_seconds:
                raise GaveUp(f"{reason}, still after {self.retry.budget_seconds:g} s of retries", response)
            self._sleep(wait)
            backoff = min(backoff * 2, self.retry.max_backoff_seconds)

    def close(self) -> None:
        self.client.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare on these APIs; the backoff applies


def error_texts(body: Any) -> tuple[str, ...]:
    """A marketplace's error body as readable lines, whatever its shape (SP-API `errors[]` with
    code/message/details, eBay `errors[]` with errorId/message/longMessage, Kaufland `message` or
    `errors`), so a rejection shows the marketplace's own words."""
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, Sequence) and not isinstance(errors, str) and errors:
            lines = []
            for error in errors:
                if isinstance(error, Mapping):
                    code = error.get("code") or error.get("errorId") or ""
                    text = error.get("longMessage") or error.get("message") or ""
                    if details := error.get("details"):  # SP-API's, e.g. why a token was refused
                        text = f"{text} ({details})"
                    lines.append(f"{code}: {text}".strip(": ") if code else str(text))
                else:
                    lines.append(str(error))
            return tuple(lines)
        if isinstance(body.get("message"), str):
            return (body["message"],)
    return (str(body)[:500],) if body else ()

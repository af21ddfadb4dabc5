"""Kaufland Seller API v2: our product data for an EAN, then our unit (offer) on a storefront.

Kaufland keys its catalogue by EAN, and a listing there is two things:

1. product data for the EAN in the storefront's locale: `PUT /product-data?locale=de-DE` with
   `{"ean": [ean], "attributes": {"title": [...], "description": [...], "picture": [...], ...}}`
   (Kaufland merges every seller's data into the page; ours may not all be shown);
2. our unit on the storefront: price in integral cents of the storefront's currency, amount,
   handling time, condition: `POST /units?storefront=de`, and `PATCH /units/{id_unit}` for changes.

Idempotent by SKU: our SKU is the unit's `id_offer` (Kaufland's "seller's unique ID for offer(s)", unique
per storefront). The unit id goes to `remember` as soon as Kaufland gives it; a run that crashed before
storing it has its POST refused as a duplicate and finds its unit with `GET /units?storefront=de&
id_offer=SKU`, so a SKU never gets two units, and a new listing costs two requests, not three. A
remembered unit that Kaufland no longer has (404, deleted in the seller portal) is created again the
same way.

Authentication (documented on the "Rest API" page, with a worked example the tests check): every
request carries `Shop-Client-Key`, `Shop-Timestamp` (unix seconds) and `Shop-Signature`, the hex
HMAC-SHA256 of "METHOD\\nURL\\nBODY\\nTIMESTAMP" under the secret key, URL being the absolute URL with
its query string as sent and BODY the exact bytes sent; plus `Accept: application/json` and a
`User-Agent` naming the integration. Each attempt is signed anew (MarketplaceHttp's `prepare`), so a
retried request goes with a fresh timestamp rather than one the API may find too old.

Sources: sellerapi.kaufland.com ("Rest API", "Managing Inventory", "Rate Limits") and its OpenAPI
document (2.18.3, as published in generated clients): the storefronts, their currencies and locales,
the unit conditions, the field limits, the error body `{"type", "message", "errors": [{"field",
"message"}]}`. Not in those, so chosen here: the "manufacturer" and "category" attributes (the latter
as a " > " path), the 255-character title limit, and which problem type a duplicate `id_offer` gets
(`/problems/already-exists`, treated as "try again later").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

import httpx

from services.normalize import check_gtin
from services.publishing.clients.base import (
    CredentialsRefused,
    GaveUp,
    MarketplaceHttp,
    NotConfigured,
    Outcome,
    OutgoingListing,
    Pacer,
    PublishOutcome,
    RateLimiter,
    Remember,
    RetryPolicy,
    error_texts,
)

API_URL = "https://sellerapi.kaufland.com/v2"

# Our marketplace ids → Kaufland's storefronts; the storefront decides the currency of the prices
# (the OpenAPI document: "CZK for cz, EUR for de, sk, at and PLN for pl") and the locale of the product
# data (its Locale enum: de-DE, cs-CZ, sk-SK, de-AT, pl-PL).
STOREFRONTS: Mapping[str, str] = MappingProxyType(
    {"kaufland_de": "de", "kaufland_pl": "pl", "kaufland_sk": "sk", "kaufland_cz": "cz", "kaufland_at": "at"}
)
CURRENCIES: Mapping[str, str] = MappingProxyType(
    {"de": "EUR", "at": "EUR", "sk": "EUR", "cz": "CZK", "pl": "PLN"}
)
LOCALES: Mapping[str, str] = MappingProxyType(
    {"de": "de-DE", "at": "de-AT", "sk": "sk-SK", "cz": "cs-CZ", "pl": "pl-PL"}
)
# The highest listing price a unit may have, in cents ("25 million CZK, 1 million EUR or 4.5 million PLN").
MAX_LISTING_PRICE_CENTS: Mapping[str, int] = MappingProxyType(
    {"EUR": 100_000_000, "PLN": 450_000_000, "CZK": 2_500_000_000}
)
# Kaufland's names of unit conditions: NEW, USED___AS_NEW, USED___VERY_GOOD, USED___GOOD,
# USED___ACCEPTABLE (and REFURBISHED___*). Ours says only "used", with no grade: USED___GOOD promises
# neither "as new" nor sells the item short.
CONDITIONS: Mapping[str, str] = MappingProxyType({"new": "NEW", "used": "USED___GOOD"})

MAX_TITLE_LENGTH = 255  # the longest title a preview passes (Kaufland's guidelines; not in its OpenAPI)
RECOMMENDED_TITLE_LENGTH = 80  # Kaufland recommends 50-80 characters: a preview warns beyond
MAX_HANDLING_TIME_DAYS = 100
NO_EAN = "Kaufland lists products by EAN: this product has none"


@dataclass(frozen=True, slots=True)
class KauflandConfig:
    """One Kaufland seller account. The keys come from the seller portal (Settings → API)."""

    client_key: str
    secret_key: str = field(repr=False)  # never in a log line or a traceback
    api_url: str = API_URL
    user_agent: str = "listing-pipeline"  # Kaufland asks every request to name its integration
    # Kaufland documents its rate limit per seller account, across all endpoints (111 requests a
    # second on its "Rate Limits" page, "treat this as a maximum"); we take 50 a second by default,
    # so that the other tools on the same account (an ERP, a repricer) keep half of it.
    requests_per_second: float = 50.0
    burst: int = 10
    concurrency: int = 4  # listings in flight at once (each one's requests stay in order)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def signature(secret: str, method: str, url: str, body: bytes | str, timestamp: int | str) -> str:
    """Kaufland's Shop-Signature: hex HMAC-SHA256 of "METHOD\\nURL\\nBODY\\nTIMESTAMP" under the secret.

    Built from bytes, so the body is signed exactly as it goes on the wire (no re-encoding)."""
    raw_body = body.encode() if isinstance(body, str) else body
    message = b"\n".join((method.upper().encode(), url.encode(), raw_body, str(timestamp).encode()))
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def to_cents(price: Decimal) -> int:
    """A gross price as Kaufland takes it: integral cents of the storefront's currency."""
    return int((price * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def kaufland_issues(body: Any) -> tuple[str, ...]:
    """Kaufland's error body as readable lines, in its words: its `message`, then each of its
    `errors` as "field: message" (error_texts alone would drop the field)."""
    if not isinstance(body, Mapping):
        return error_texts(body)
    lines: list[str] = []
    if isinstance(body.get("message"), str) and body["message"]:
        lines.append(body["message"])
    errors = body.get("errors")
    if isinstance(errors, list):
        for error in errors:
            if isinstance(error, Mapping) and error.get("field"):
                lines.append(f"{error['field']}: {error.get('message', '')}".rstrip(": "))
            else:
                lines.extend(error_texts({"errors": [error]}))
    return tuple(dict.fromkeys(lines)) or error_texts(body)


def check_listing(listing: OutgoingListing) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(refusals, warnings) of our own checks: Kaufland has no dry run, so a preview is these.

    They follow Kaufland's documented rules: an EAN (a valid GTIN-13), a title of at most 255
    characters (50-80 recommended: longer only warns), a picture it can fetch over https, a price
    above zero and within the storefront's maximum, a quantity of at least 0, a handling time of
    0-100 days, and a price in the storefront's currency."""
    refusals: list[str] = []
    warnings: list[str] = []
    storefront = STOREFRONTS[listing.marketplace]
    refusals.extend(_ean_problems(listing.ean))
    refusals.extend(_currency_problems(listing, storefront))
    title = listing.title.strip()
    if not title:
        refusals.append("Kaufland needs a title")
    elif len(title) > MAX_TITLE_LENGTH:
        refusals.append(f"title is {len(title)} characters; Kaufland takes at most {MAX_TITLE_LENGTH}")
    elif len(title) > RECOMMENDED_TITLE_LENGTH:
        warnings.append(
            f"title is {len(title)} characters; Kaufland recommends 50-{RECOMMENDED_TITLE_LENGTH}"
        )
    if not any(image.startswith("https://") for image in listing.images):
        refusals.append("Kaufland needs at least one picture at an https URL")
    refusals.extend(_price_problems(listing))
    if listing.quantity < 0:
        refusals.append(f"quantity {listing.quantity} is below 0")
    if not 0 <= listing.handling_time_days <= MAX_HANDLING_TIME_DAYS:
        refusals.append(
            f"handling time {listing.handling_time_days} days is outside 0-{MAX_HANDLING_TIME_DAYS}"
        )
    locale = LOCALES[storefront]
    if listing.language != locale.split("-")[0]:
        warnings.append(
            f"the copy is in {listing.language!r}; the {storefront} storefront's locale is {locale}"
        )
    return tuple(refusals), tuple(warnings)


def _ean_problems(ean: str | None) -> list[str]:
    if not ean or not ean.strip():
        return [NO_EAN]
    checked = check_gtin(ean)
    if not checked.valid or len(checked.code or "") != 13:
        reason = checked.reason or f"{len(checked.code or '')} digits"
        return [f"EAN {ean} is not a valid GTIN-13 ({reason})"]
    return []


def _currency_problems(listing: OutgoingListing, storefront: str) -> list[str]:
    expected = CURRENCIES[storefront]
    if listing.currency != expected:
        return [f"price is in {listing.currency}; the {storefront} storefront sells in {expected}"]
    return []


def _price_problems(listing: OutgoingListing) -> list[str]:
    cents = to_cents(listing.price)
    ceiling = MAX_LISTING_PRICE_CENTS.get(listing.currency)
    if cents <= 0:
        return [f"price {listing.price} {listing.currency} is not above 0"]
    if ceiling is not None and cents > ceiling:
        return [f"price {listing.price} {listing.currency} is above Kaufland's maximum of {ceiling // 100}"]
    return []


class _Refused(Exception):
    """A Kaufland answer that ends this listing's publish (the outcome says why)."""

    def __init__(self, response: httpx.Response, step: str) -> None:
        super().__init__(f"HTTP {response.status_code} at {step}")
        self.response = response
        self.step = step


class KauflandClient:
    """One Kaufland seller account, every storefront (see the module's docstring).

    `sleep` and `clock` drive the rate limit and the retries; `now` is the wall clock the
    Shop-Timestamp is read from (tests inject all three)."""

    marketplaces = frozenset(STOREFRONTS)

    def __init__(
        self,
        config: KauflandConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        limiter: Pacer | None = None,
    ) -> None:
        """`limiter`: the account's pace shared across processes; else one of this process's."""
        if not config.client_key or not config.secret_key:
            raise NotConfigured("Kaufland is not configured: set KAUFLAND_CLIENT_KEY and KAUFLAND_SECRET_KEY")
        self.config = config
        limiter = limiter or RateLimiter(config.requests_per_second, config.burst, clock=clock, sleep=sleep)
        self.http = MarketplaceHttp(
            config.api_url, limiter, config.retry, transport=transport, sleep=sleep, clock=clock
        )
        self._now = now

    @property
    def requests_sent(self) -> int:
        """Every attempt sent, retries included."""
        return self.http.requests_sent

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> KauflandClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the protocol ---------------------------------------------------------------------------------

    def publish(
        self,
        listings: Sequence[OutgoingListing],
        *,
        preview: bool = False,
        remember: Remember | None = None,
    ) -> list[PublishOutcome]:
        """Product data, then the unit, per listing; with `preview`, only our own checks (Kaufland has
        no dry run): nothing is sent."""
        if preview:
            return [self._preview(listing) for listing in listings]
        return self._each(lambda listing: self._publish(listing, remember), listings)

    def update_offers(self, listings: Sequence[OutgoingListing]) -> list[PublishOutcome]:
        """`PATCH /units/{id_unit}` with only the price and the amount."""
        return self._each(self._update_offer, listings)

    def _each(
        self, send: Callable[[OutgoingListing], PublishOutcome], listings: Sequence[OutgoingListing]
    ) -> list[PublishOutcome]:
        """`send` for every listing, a few at a time: Kaufland allows far more requests a second than
        one connection's round trips make (measured on the fake: ≈ 23 a second, one at a time); the
        limiter keeps the pace. In order."""
        if len(listings) < 2 or self.config.concurrency < 2:
            return [send(listing) for listing in listings]
        with ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="kaufland") as pool:
            return list(pool.map(send, listings))

    def check_credentials(self) -> None:
        """A signed `GET /info/storefront`: cheap, and it answers with this account's own storefronts,
        so it proves the key pair and the signing, not only that the API is up. Another error answer
        raises httpx.HTTPStatusError; a Kaufland still failing after the retries, GaveUp."""
        response = self._send("GET", "/info/storefront")
        if response.status_code in (401, 403):
            issues = kaufland_issues(_json_body(response)) or (f"HTTP {response.status_code}",)
            raise CredentialsRefused("Kaufland refused the credentials: " + "; ".join(issues))
        response.raise_for_status()

    # -- publishing -----------------------------------------------------------------------------------

    def _preview(self, listing: OutgoingListing) -> PublishOutcome:
        if listing.marketplace not in STOREFRONTS:
            return _not_ours(listing)
        refusals, warnings = check_listing(listing)
        request: dict[str, Any] = {}
        if _ean(listing):  # what would be sent, for the sync log
            request = {"product_data": self._product_data(listing), "unit": _unit_body(listing)}
        outcome: Outcome = "rejected" if refusals else "valid"
        return PublishOutcome(listing.sku, outcome, issues=(*refusals, *warnings), request=request)

    def _publish(self, listing: OutgoingListing, remember: Remember | None) -> PublishOutcome:
        if listing.marketplace not in STOREFRONTS:
            return _not_ours(listing)
        # Only what must not be sent is checked here; the rest Kaufland judges, in its own words.
        ean = _ean(listing)
        refusals = [NO_EAN] if ean is None else _currency_problems(listing, _storefront(listing))
        if refusals or ean is None:
            return PublishOutcome(listing.sku, "rejected", issues=tuple(refusals))
        sent: dict[str, Any] = {}
        try:
            self._call("PUT", "/product-data", sent, "product_data", self._product_data(listing))
            unit_id, response = self._save_unit(listing, sent, remember)
        except _Refused as refused:
            return _refusal(listing, refused, sent)
        except GaveUp as gave_up:
            return _gave_up(listing, gave_up, sent)
        ids = {"sku": listing.sku, "ean": ean, "unit_id": unit_id}
        return PublishOutcome(listing.sku, "published", ids=ids, request=sent, response=_json_body(response))

    def _product_data(self, listing: OutgoingListing) -> dict[str, Any]:
        attributes: dict[str, list[str]] = {
            "title": [listing.title],
            "description": [listing.description_html],
            "picture": list(listing.images),
        }
        if listing.brand:
            attributes["manufacturer"] = [listing.brand]
        if listing.category:
            attributes["category"] = [" > ".join(listing.category)]
        return {
            "params": {"locale": LOCALES[_storefront(listing)]},
            "body": {"ean": [_ean(listing)], "attributes": attributes},
        }

    def _save_unit(
        self, listing: OutgoingListing, sent: dict[str, Any], remember: Remember | None
    ) -> tuple[str, httpx.Response]:
        """The listing's unit, created or updated: (its id, Kaufland's last answer)."""
        known = listing.ids.get("unit_id")
        if known:
            response = self._patch_unit(listing, known, sent, gone_ok=True)
            if response is not None:
                return known, response
        # Created first: the common case costs one request. A unit that exists already (a run that
        # crashed before storing its id) is refused as a duplicate, then found by its SKU.
        try:
            created = self._create_unit(listing, sent)
        except _Refused as refused:
            if not _already_exists(refused) or (found := self._find_unit(listing, sent)) is None:
                raise
        else:
            _remember(remember, listing, created[0])
            return created
        _remember(remember, listing, found)
        response = self._patch_unit(listing, found, sent, gone_ok=False)
        assert response is not None  # gone_ok=False raises instead
        return found, response

    def _find_unit(self, listing: OutgoingListing, sent: dict[str, Any]) -> str | None:
        """The unit an earlier run made for this SKU on this storefront (it may have crashed before
        storing the id). Kaufland notes that a new unit may take minutes to show in this list; in
        that window the duplicate's refusal stands, retryable (`_refusal`)."""
        storefront = _storefront(listing)
        params = {"storefront": storefront, "id_offer": listing.sku}
        response = self._call("GET", "/units", sent, "find_unit", {"params": params})
        units = _json_body(response).get("data") or []
        for unit in units if isinstance(units, list) else []:
            if isinstance(unit, Mapping) and unit.get("id_offer") == listing.sku and unit.get("id_unit"):
                return str(unit["id_unit"])
        return None

    def _create_unit(self, listing: OutgoingListing, sent: dict[str, Any]) -> tuple[str, httpx.Response]:
        request = {"params": {"storefront": _storefront(listing)}, "body": _unit_body(listing)}
        response = self._call("POST", "/units", sent, "create_unit", request)
        data = _json_body(response).get("data")
        if not isinstance(data, Mapping) or not data.get("id_unit"):
            raise _Refused(response, "create_unit")  # a 2xx without a unit id: nothing to keep
        return str(data["id_unit"]), response

    def _patch_unit(
        self, listing: OutgoingListing, unit_id: str, sent: dict[str, Any], *, gone_ok: bool
    ) -> httpx.Response | None:
        """PATCH the unit with the listing's price, amount and handling time; None when `gone_ok` and
        Kaufland no longer has it (the caller looks it up or creates it again). The condition cannot
        be patched: Kaufland fixes it when the unit is made."""
        body: dict[str, Any] = {
            "listing_price": to_cents(listing.price),
            "amount": listing.quantity,
            "handling_time": listing.handling_time_days,
        }
        if note := listing.attributes.get("note"):
            body["note"] = note
        request = {"params": {"storefront": _storefront(listing)}, "body": body}
        response = self._call("PATCH", f"/units/{unit_id}", sent, "update_unit", request, allow=(404,))
        if response.status_code == 404:
            if gone_ok:
                return None
            raise _Refused(response, "update_unit")
        return response

    def _update_offer(self, listing: OutgoingListing) -> PublishOutcome:
        if listing.marketplace not in STOREFRONTS:
            return _not_ours(listing)
        unit_id = listing.ids.get("unit_id")
        if not unit_id:
            return PublishOutcome(listing.sku, "failed", issues=("not published yet: no Kaufland unit id",))
        sent: dict[str, Any] = {}
        body = {"listing_price": to_cents(listing.price), "amount": listing.quantity}
        request = {"params": {"storefront": _storefront(listing)}, "body": body}
        try:
            response = self._call("PATCH", f"/units/{unit_id}", sent, "update_unit", request)
        except _Refused as refused:
            return _refusal(listing, refused, sent)
        except GaveUp as gave_up:
            return _gave_up(listing, gave_up, sent)
        ids = {"sku": listing.sku, "ean": listing.ean or "", "unit_id": unit_id}
        return PublishOutcome(listing.sku, "updated", ids=ids, request=sent, response=_json_body(response))

    # -- HTTP ----------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        sent: dict[str, Any],
        step: str,
        request: Mapping[str, Any],
        *,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one step, note it in `sent` (for the sync log), and raise _Refused unless it is a 2xx
        (or a status in `allow`)."""
        params, body = request.get("params"), request.get("body")
        sent[step] = {"method": method, "path": path, **({"params": params} if params else {})}
        if body is not None:
            sent[step]["body"] = body
        response = self._send(method, path, params=params, body=body)
        if response.is_success or response.status_code in allow:
            return response
        raise _Refused(response, step)

    def _send(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None
    ) -> httpx.Response:
        """One signed request (signed again on every retry), JSON in and out."""
        content = None if body is None else _json_bytes(body)
        headers = {"Content-Type": "application/json"} if content is not None else None
        return self.http.request(
            method, path, params=params, content=content, headers=headers, prepare=self._sign
        )

    def _sign(self, request: httpx.Request) -> httpx.Request:
        """Kaufland's headers for this attempt: a fresh timestamp, the signature of exactly what goes."""
        timestamp = str(int(self._now()))
        request.headers["Accept"] = "application/json"
        request.headers["User-Agent"] = self.config.user_agent
        request.headers["Shop-Client-Key"] = self.config.client_key
        request.headers["Shop-Timestamp"] = timestamp
        request.headers["Shop-Signature"] = signature(
            self.config.secret_key, request.method, str(request.url), request.content, timestamp
        )
        return request


# -- outcomes ----------------------------------------------------------------------------------------


def _storefront(listing: OutgoingListing) -> str:
    return STOREFRONTS[listing.marketplace]


def _ean(listing: OutgoingListing) -> str | None:
    """The listing's EAN as sent (trimmed), or None when it has none."""
    return (listing.ean or "").strip() or None


def _unit_body(listing: OutgoingListing) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ean": _ean(listing),
        "id_offer": listing.sku,
        "listing_price": to_cents(listing.price),
        "amount": listing.quantity,
        "condition": CONDITIONS[listing.condition],
        "handling_time": listing.handling_time_days,
    }
    if note := listing.attributes.get("note"):
        body["note"] = note
    return body


def _remember(remember: Remember | None, listing: OutgoingListing, unit_id: str) -> None:
    if remember is not None:
        remember(listing, {"unit_id": unit_id})


def _already_exists(refused: _Refused) -> bool:
    """Kaufland refused a new unit because one with its id_offer exists already."""
    body = _json_body(refused.response)
    return refused.step == "create_unit" and str(body.get("type", "")).endswith("/already-exists")


def _refusal(listing: OutgoingListing, refused: _Refused, sent: Mapping[str, Any]) -> PublishOutcome:
    """The outcome of a Kaufland answer that stopped the listing, with Kaufland's words."""
    response = refused.response
    status = response.status_code
    body = _json_body(response)
    issues = kaufland_issues(body) if body else ()
    issues = issues or (f"HTTP {status}",)
    outcome = PublishOutcome(listing.sku, "failed", issues=issues, request=sent, response=body)
    if status in (401, 403):
        # Not retryable: the same keys will be refused again until someone changes them.
        lines = (f"Kaufland refused the credentials or the signature (HTTP {status})", *issues)
        return replace(outcome, issues=lines)
    if _already_exists(refused):
        # A unit with this id_offer exists but did not show in GET /units yet (Kaufland lists new
        # units with a delay): the next attempt finds it and updates it instead.
        lines = ("a unit with this SKU exists on Kaufland but is not listed yet", *issues)
        return replace(outcome, issues=lines, retryable=True)
    if status in (400, 409, 422):
        return replace(outcome, outcome="rejected")
    lines = (f"unexpected HTTP {status} from Kaufland at {refused.step}", *issues)
    return replace(outcome, issues=lines)


def _gave_up(listing: OutgoingListing, gave_up: GaveUp, sent: Mapping[str, Any]) -> PublishOutcome:
    body = _json_body(gave_up.response) if gave_up.response is not None else {}
    return PublishOutcome(
        listing.sku,
        "failed",
        issues=(f"Kaufland: {gave_up.reason}",),
        request=sent,
        response=body,
        retryable=True,
    )


def _not_ours(listing: OutgoingListing) -> PublishOutcome:
    return PublishOutcome(
        listing.sku, "failed", issues=(f"{listing.marketplace} is not a Kaufland storefront",)
    )


def _json_bytes(payload: Any) -> bytes:
    """The body as sent and signed: compact UTF-8 JSON (Kaufland's titles are in German, Polish, Czech)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _json_body(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; a body that is not one is kept as text, for the sync log."""
    try:
        body = response.json()
    except ValueError:
        return {"text": response.text[:500]} if response.text else {}
    return body if isinstance(body, dict) else {"data": body}

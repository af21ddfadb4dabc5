"""A fake eBay (OAuth and the Sell Inventory API) on loopback: a real HTTP server that checks what eBay
checks and answers in eBay's shapes, so that a client that works here has met eBay's rules.

    with FakeEbay() as fake:
        client = EbayClient(fake.ebay_config())
        client.publish(listings)
        assert fake.offers[offer_id].status == "PUBLISHED"

What it checks:

* OAuth (`POST /identity/v1/oauth2/token`, refresh-token grant): the app's keyset as HTTP Basic
  (else 401 `invalid_client`), the grant type (400 `unsupported_grant_type`), the seller's refresh
  token (400 `invalid_grant`), scopes within those granted (400 `invalid_scope`). Tokens it issues
  live `token_lifetime_seconds` (eBay: 7200); `expire_tokens()` ends them early.
* Every API call: `Authorization: Bearer` with a token it issued and that has not expired (else 401,
  errorId 1001 "Invalid access token"); its rate limit (a token bucket: `requests_per_second`,
  `burst`), else 429 with errorId 2001 "Too many requests" and no Retry-After (eBay documents none).
* The methods the clients use: bulk_create_or_replace_inventory_item, GET /offer?sku=,
  GET/PUT /offer/{offerId}, bulk_create_offer, bulk_publish_offer, bulk_update_price_quantity
  (and GET /inventory_item/{sku}). Bulk calls take 1 to 25 requests; inventory item and offer
  writes need a Content-Language eBay supports; one bulk_create_offer serves one marketplace.
* Inventory items: a SKU of 1-50 characters (25707), title at most 80 characters, description at
  most 4000, item specifics' names at most 40 and values at most 50, brand at most 65, EANs with a
  valid GS1 check digit, 1-24 images over https (25014 / 25015), a known condition (25021), a
  quantity of 0 or more (25004).
* Offers: the SKU's inventory item must exist (25702 "SKU ... could not be found"); one offer per
  SKU, marketplace and format: a second gets 400 with errorId 25002 "Offer entity already exists"
  and the existing `offerId` in its parameters; a SKU on one marketplace only (the Inventory API
  does not support one SKU on two marketplaces); price above 0 (25003) and quantity of 0 or more.
* Publishing: a title, description, image and condition on the item; on the offer a category
  (25005), the three policies, each one of the seller's (25007 fulfillment, 25008 payment,
  25009 return), an inventory location of the seller's (25002, "No <Item.Country> exists..."), a
  price above 0 (25003) and a quantity above 0 (25004). A published offer keeps its listing id;
  publishing it again is a success with the same id. Updating a published offer checks the same
  and needs a listingDescription.

From the documentation only (not seen on the real API): the limits and the errorIds above come from
the Inventory API's type and error references, but which errorId and wording eBay picks for each case
(e.g. 25709 for a too-long title, 25707 for a missing SKU, a 404 with 25702 from getOffers for an
unknown SKU, 25713 for a SKU without offers) is our reading; per-item statusCode 201 for a created
inventory item and 200 for a replaced one is a guess (the client does not rely on it); overall 200
when every item succeeded, else 207; updateOffer answers 204. eBay's real rate limits are per day;
the per-second bucket stands for the pipeline's own pacing.

Scripting: `fail_next(status, times)` (5xx or 429, eBay's bodies), `throttle_next(times)`,
`reject_publish(sku, error_id, message)` for one SKU's publish, `expire_tokens()`. Inspection:
`inventory_items`, `offers`, `requests` / `api_requests` / `token_requests` (method, path, query,
lower-case headers, parsed body).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from devstack.loopback import FakeHandler, LoopbackServer
from services.publishing.clients.ebay import EbayConfig

DEFAULT_CLIENT_ID = "FakeSell-listingp-PRD-5f1e2d3c4-0a1b2c3d"
# The fake's own keyset and refresh token: made up, not secrets.
DEFAULT_CLIENT_SECRET = "PRD-f1e2d3c4b5a6-0a1b-2c3d-4e5f-6a7b"  # noqa: S105
DEFAULT_REFRESH_TOKEN = "v^1.1#i^1#r^1#p^3#I^3#f^0#t^Ul4xMF8fakeRefreshToken"  # noqa: S105
SELL_INVENTORY_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.inventory"
FULFILLMENT_POLICY_ID = "6196932000"
PAYMENT_POLICY_ID = "6196947000"
RETURN_POLICY_ID = "6196940000"
LOCATION_KEY = "lager-berlin"
CATEGORY_ID = "112529"

OAUTH_PATH = "/identity/v1/oauth2/token"
INVENTORY = "/sell/inventory/v1"
BULK_LIMIT = 25
LANGUAGES = frozenset(
    {"de-DE", "de-AT", "de-CH", "pl-PL", "en-US", "en-GB", "en-AU", "en-CA", "fr-FR", "fr-BE", "fr-CA",
     "it-IT", "es-ES", "nl-NL", "nl-BE"}
)  # fmt: skip
MARKETPLACES = frozenset(
    {"EBAY_DE", "EBAY_AT", "EBAY_CH", "EBAY_PL", "EBAY_US", "EBAY_GB", "EBAY_AU", "EBAY_CA", "EBAY_FR",
     "EBAY_IT", "EBAY_ES", "EBAY_NL", "EBAY_BE", "EBAY_IE"}
)  # fmt: skip
CONDITIONS = frozenset(
    {"NEW", "LIKE_NEW", "NEW_OTHER", "NEW_WITH_DEFECTS", "CERTIFIED_REFURBISHED", "EXCELLENT_REFURBISHED",
     "VERY_GOOD_REFURBISHED", "GOOD_REFURBISHED", "SELLER_REFURBISHED", "USED_EXCELLENT", "USED_VERY_GOOD",
     "USED_GOOD", "USED_ACCEPTABLE", "FOR_PARTS_OR_NOT_WORKING"}
)  # fmt: skip
FORMATS = frozenset({"FIXED_PRICE", "AUCTION"})

Json = dict[str, Any]
Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body (None: no body)


def ebay_error(error_id: int, message: str, long_message: str | None = None, **parameters: str) -> Json:
    """One entry of eBay's `errors` array (ErrorDetailV3)."""
    domain, category = ("API_INVENTORY", "REQUEST") if error_id >= 25000 else ("ACCESS", "REQUEST")
    error: Json = {"errorId": error_id, "domain": domain, "category": category, "message": message}
    if error_id >= 25000:
        error["subdomain"] = "Selling"
    if long_message:
        error["longMessage"] = long_message
    if parameters:
        error["parameters"] = [{"name": name, "value": value} for name, value in parameters.items()]
    return error


INVALID_TOKEN = ebay_error(
    1001,
    "Invalid access token",
    "Invalid access token. Check the value of the Authorization HTTP request header.",
)
TOO_MANY_REQUESTS = ebay_error(
    2001, "Too many requests", "The request limit has been reached for the resource."
)
INTERNAL_ERROR = {
    **ebay_error(
        2003,
        "Internal error",
        "There was a problem with an eBay internal system or process. Contact eBay developer support.",
    ),
    "category": "APPLICATION",
}
OFFER_NOT_AVAILABLE = ebay_error(25713, "This Offer is not available.")


def is_gtin(code: str) -> bool:
    """A GTIN-8, -12 (UPC), -13 (EAN) or -14 with a valid GS1 check digit."""
    if len(code) not in (8, 12, 13, 14) or not code.isascii() or not code.isdigit():
        return False
    body = [int(digit) for digit in reversed(code[:-1])]
    total = sum(digit * (3 if position % 2 == 0 else 1) for position, digit in enumerate(body))
    return (10 - total % 10) % 10 == int(code[-1])


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: Any  # parsed JSON, the token call's form as a dict, or None


@dataclass
class FakeOffer:
    """An offer as the fake keeps it: `body` is the offer as last written (create or update)."""

    offer_id: str
    sku: str
    marketplace_id: str
    format: str
    body: Json
    status: Literal["UNPUBLISHED", "PUBLISHED"] = "UNPUBLISHED"
    listing_id: str | None = None

    @property
    def price(self) -> str | None:
        value = self.body.get("pricingSummary", {}).get("price", {}).get("value")
        return None if value is None else str(value)

    @property
    def currency(self) -> str | None:
        currency = self.body.get("pricingSummary", {}).get("price", {}).get("currency")
        return None if currency is None else str(currency)

    @property
    def quantity(self) -> int | None:
        quantity = self.body.get("availableQuantity")
        return quantity if isinstance(quantity, int) else None

    @property
    def category_id(self) -> str | None:
        category = self.body.get("categoryId")
        return None if category is None else str(category)

    def as_ebay(self) -> Json:
        """getOffer's shape (EbayOfferDetailsWithAll)."""
        offer = {
            **self.body,
            "offerId": self.offer_id,
            "sku": self.sku,
            "marketplaceId": self.marketplace_id,
            "format": self.format,
            "status": self.status,
        }
        if self.listing_id:
            offer["listing"] = {"listingId": self.listing_id, "listingStatus": "ACTIVE"}
        return offer


@dataclass(frozen=True)
class _Failure:
    status: int
    path_prefix: str
    retry_after: float | None


class _Refused(Exception):
    """A whole call refused: answered with `status` and eBay's `errors`."""

    def __init__(self, status: int, *errors: Json) -> None:
        super().__init__(status)
        self.status = status
        self.errors = list(errors)


@dataclass
class _Bucket:
    """The fake's rate limit: take() is False when the request is over it."""

    per_second: float
    burst: int
    tokens: float = field(init=False)
    last: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.per_second)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class FakeEbay(LoopbackServer):
    """The fake server; a context manager (or `start()` / `stop()`). See the module's docstring."""

    def __init__(
        self,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        *,
        token_lifetime_seconds: float = 7200,
        requests_per_second: float = 10.0,
        burst: int = 10,
        scopes: frozenset[str] = frozenset({SELL_INVENTORY_SCOPE}),
        fulfillment_policy_ids: frozenset[str] = frozenset({FULFILLMENT_POLICY_ID}),
        payment_policy_ids: frozenset[str] = frozenset({PAYMENT_POLICY_ID}),
        return_policy_ids: frozenset[str] = frozenset({RETURN_POLICY_ID}),
        location_keys: frozenset[str] = frozenset({LOCATION_KEY}),
    ) -> None:
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.token_lifetime_seconds = token_lifetime_seconds
        self.scopes = scopes
        self.policies = {
            "fulfillmentPolicyId": (fulfillment_policy_ids, 25007, "Invalid Fulfillment policy."),
            "paymentPolicyId": (payment_policy_ids, 25008, "Invalid Payment policy."),
            "returnPolicyId": (return_policy_ids, 25009, "Invalid Return policy."),
        }
        self.location_keys = location_keys
        self._lock = threading.Lock()
        self._bucket = _Bucket(requests_per_second, burst)
        self._tokens: dict[str, float] = {}  # access token -> when it expires (time.monotonic)
        self._items: dict[str, Json] = {}
        self._offers: dict[str, FakeOffer] = {}
        self._offer_ids = itertools.count(5_005_317_010)
        self._listing_ids = itertools.count(110_553_021_000)
        self._failures: deque[_Failure] = deque()
        self._publish_errors: dict[str, Json] = {}
        self._requests: list[RecordedRequest] = []

    # -- lifecycle ----------------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def base_url(self) -> str:
        """The api_url to give the client (it adds /identity/... and /sell/...)."""
        return self.server_url

    def ebay_config(self, **overrides: Any) -> EbayConfig:
        """A client configuration for this fake: its keyset, refresh token, policies, location and a
        default category; `overrides` replace any field."""
        settings: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "api_url": self.base_url,
            "fulfillment_policy_id": min(self.policies["fulfillmentPolicyId"][0], default=""),
            "payment_policy_id": min(self.policies["paymentPolicyId"][0], default=""),
            "return_policy_id": min(self.policies["returnPolicyId"][0], default=""),
            "merchant_location_key": min(self.location_keys, default=""),
            "category_id": CATEGORY_ID,
        }
        return EbayConfig(**{**settings, **overrides})

    # -- scripting ----------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        times: int = 1,
        *,
        path_prefix: str = "/sell/",
        retry_after: float | None = None,
    ) -> FakeEbay:
        """The next `times` requests whose path starts with `path_prefix` (default: API calls; give
        OAUTH_PATH for the token endpoint) get `status` with eBay's body for it (429: errorId 2001,
        with `retry-after` if given; else errorId 2003), before any other check."""
        with self._lock:
            self._failures.extend([_Failure(status, path_prefix, retry_after)] * times)
        return self

    def throttle_next(self, times: int = 1, *, retry_after: float | None = None) -> FakeEbay:
        """The next `times` API calls get eBay's 429."""
        return self.fail_next(429, times, retry_after=retry_after)

    def reject_publish(
        self,
        sku: str,
        error_id: int = 25002,
        message: str = "A user error has occurred.",
        long_message: str = "",
    ) -> FakeEbay:
        """Publishing the offer of `sku` fails with this eBay error (until the fake is reset)."""
        with self._lock:
            self._publish_errors[sku] = ebay_error(error_id, message, long_message or None)
        return self

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (the refresh token stays valid)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    # -- inspection ---------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def api_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith("/sell/")]

    @property
    def token_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == OAUTH_PATH]

    @property
    def inventory_items(self) -> dict[str, Json]:
        """By SKU: the item as last sent (sku, locale, product, condition, availability)."""
        with self._lock:
            return dict(self._items)

    @property
    def offers(self) -> dict[str, FakeOffer]:
        with self._lock:
            return dict(self._offers)

    def offers_for(self, sku: str) -> list[FakeOffer]:
        return [offer for offer in self.offers.values() if offer.sku == sku]

    # -- answering ----------------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Answer:
        """(status, headers, JSON body or None) for one request."""
        url = urlsplit(target)
        path, query = url.path.rstrip("/"), dict(parse_qsl(url.query))
        lower = {name.lower(): value for name, value in headers.items()}
        body = _parse(raw, form=path == OAUTH_PATH)
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, lower, body))
            failure = self._next_failure(path)
            if failure is not None:
                return _failure_answer(failure)
            try:
                if path == OAUTH_PATH and method == "POST":
                    return self._token(lower, body)
                if not path.startswith(INVENTORY + "/"):
                    raise _Refused(404, ebay_error(2002, "Resource not found", f"No resource at {path}."))
                self._check_bearer(lower)
                if not self._bucket.take():
                    raise _Refused(429, TOO_MANY_REQUESTS)
                return self._route(method, path[len(INVENTORY) :], query, lower, body)
            except _Refused as refused:
                return refused.status, {}, {"errors": refused.errors}

    def _next_failure(self, path: str) -> _Failure | None:
        for failure in self._failures:
            if path.startswith(failure.path_prefix):
                self._failures.remove(failure)
                return failure
        return None

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> Answer:
        routes: dict[tuple[str, str], Callable[[Any, dict[str, str]], Answer]] = {
            ("POST", "/bulk_create_or_replace_inventory_item"): self._put_items,
            ("POST", "/bulk_create_offer"): self._create_offers,
            ("POST", "/bulk_publish_offer"): self._publish,
            ("POST", "/bulk_update_price_quantity"): self._update_price_quantity,
        }
        if (method, path) in routes:
            return routes[method, path](body, headers)
        if (method, path) == ("GET", "/offer"):
            return self._find_offers(query)
        if path.startswith("/offer/") and method in ("GET", "PUT"):
            offer = self._offers.get(path.removeprefix("/offer/"))
            if offer is None:
                raise _Refused(404, OFFER_NOT_AVAILABLE)
            return (200, {}, offer.as_ebay()) if method == "GET" else self._update_offer(offer, body, headers)
        if path.startswith("/inventory_item/") and method == "GET":
            item = self._items.get(path.removeprefix("/inventory_item/"))
            if item is None:
                raise _Refused(404, ebay_error(25710, "We didn't find the entity you are requesting."))
            return 200, {}, item
        raise _Refused(
            404, ebay_error(2002, "Resource not found", f"No {method} method at {INVENTORY}{path}.")
        )

    # -- OAuth --------------------------------------------------------------------------------------

    def _token(self, headers: dict[str, str], form: Any) -> Answer:
        def refuse(status: int, error: str, description: str) -> Answer:
            return status, {}, {"error": error, "error_description": description}

        if _basic_credentials(headers.get("authorization", "")) != (self.client_id, self.client_secret):
            return refuse(401, "invalid_client", "client authentication failed")
        form = form if isinstance(form, dict) else {}
        if form.get("grant_type") != "refresh_token":
            return refuse(
                400, "unsupported_grant_type", "grant type in request is not supported by the server"
            )
        if form.get("refresh_token") != self.refresh_token:
            return refuse(
                400,
                "invalid_grant",
                "the provided authorization refresh token is invalid or was issued to another client",
            )
        if not set(str(form.get("scope") or "").split()) <= self.scopes:
            return refuse(
                400,
                "invalid_scope",
                "the requested scope is invalid, unknown, malformed, or exceeds the scope granted "
                "to the client",
            )
        token = "v^1.1#i^1#p^3#r^1#I^3#f^0#t^" + secrets.token_urlsafe(48)
        self._tokens[token] = time.monotonic() + self.token_lifetime_seconds
        answer = {
            "access_token": token,
            "expires_in": int(self.token_lifetime_seconds),
            "token_type": "User Access Token",
        }
        return 200, {}, answer

    def _check_bearer(self, headers: dict[str, str]) -> None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        expires = self._tokens.get(token) if scheme == "Bearer" else None
        if expires is None or time.monotonic() >= expires:
            raise _Refused(401, INVALID_TOKEN)

    # -- inventory items ----------------------------------------------------------------------------

    def _put_items(self, body: Any, headers: dict[str, str]) -> Answer:
        _require_language(headers)
        answers = []
        for request in _bulk(body):
            sku = str(request.get("sku") or "")
            errors = _item_errors(request)
            if errors:
                answers.append({"statusCode": 400, "sku": sku, "errors": errors})
                continue
            created = sku not in self._items
            self._items[sku] = request
            answers.append(
                {"statusCode": 201 if created else 200, "sku": sku, "locale": request.get("locale")}
            )
        return _multi(answers)

    # -- offers -------------------------------------------------------------------------------------

    def _create_offers(self, body: Any, headers: dict[str, str]) -> Answer:
        _require_language(headers)
        requests = _bulk(body)
        if len({request.get("marketplaceId") for request in requests}) > 1:
            raise _Refused(
                400,
                ebay_error(
                    25709,
                    "Invalid value for marketplaceId.",
                    "All offers of one bulkCreateOffer call must be for the same marketplace.",
                ),
            )
        return _multi([self._create_offer(request) for request in requests])

    def _create_offer(self, request: Json) -> Json:
        sku, marketplace = str(request.get("sku") or ""), str(request.get("marketplaceId") or "")
        format_ = str(request.get("format") or "")
        answer: Json = {"sku": sku, "marketplaceId": marketplace, "format": format_}
        errors = self._offer_errors(request, sku, marketplace, format_)
        if errors:
            return {"statusCode": 400, **answer, "errors": errors}
        offer_id = str(next(self._offer_ids))
        kept = {k: v for k, v in request.items() if k not in {"sku", "marketplaceId", "format"}}
        self._offers[offer_id] = FakeOffer(offer_id, sku, marketplace, format_, kept)
        return {"statusCode": 200, **answer, "offerId": offer_id, "warnings": []}

    def _offer_errors(self, request: Json, sku: str, marketplace: str, format_: str) -> list[Json]:
        if sku not in self._items:
            return [_sku_not_found(sku)]
        if marketplace not in MARKETPLACES:
            return [
                ebay_error(
                    25709, "Invalid value for marketplaceId.", f"{marketplace!r} is not a marketplace."
                )
            ]
        if format_ not in FORMATS:
            return [ebay_error(25709, "Invalid value for format.", f"{format_!r} is not a listing format.")]
        for offer in self._offers.values():
            if offer.sku != sku:
                continue
            if offer.marketplace_id == marketplace and offer.format == format_:
                return [
                    ebay_error(
                        25002,
                        "A user error has occurred. Offer entity already exists.",
                        offerId=offer.offer_id,
                    )
                ]
            if offer.marketplace_id != marketplace:
                return [
                    ebay_error(
                        25002,
                        "A user error has occurred. The SKU is already offered on another marketplace.",
                        f"SKU {sku} has an offer on {offer.marketplace_id}; one SKU serves one marketplace.",
                    )
                ]
        return _offer_value_errors(request)

    def _find_offers(self, query: dict[str, str]) -> Answer:
        sku = query.get("sku", "")
        if not 0 < len(sku) <= 50:
            raise _Refused(400, _invalid_sku())
        if sku not in self._items:
            raise _Refused(404, _sku_not_found(sku))
        found = [
            offer.as_ebay()
            for offer in self._offers.values()
            if offer.sku == sku
            and query.get("marketplace_id", offer.marketplace_id) == offer.marketplace_id
            and query.get("format", offer.format) == offer.format
        ]
        if not found:
            raise _Refused(404, OFFER_NOT_AVAILABLE)
        href = f"{INVENTORY}/offer?sku={sku}"
        return 200, {}, {"href": href, "limit": 100, "offers": found, "size": len(found), "total": len(found)}

    def _update_offer(self, offer: FakeOffer, body: Any, headers: dict[str, str]) -> Answer:
        _require_language(headers)
        if not isinstance(body, dict):
            raise _Refused(400, _invalid_request())
        kept = {k: v for k, v in body.items() if k not in {"sku", "marketplaceId", "format"}}
        errors = _offer_value_errors(kept)
        if offer.status == "PUBLISHED":
            # updateOffer revises a live listing: it must still be publishable, with its description.
            candidate = FakeOffer(offer.offer_id, offer.sku, offer.marketplace_id, offer.format, kept)
            errors += self._publish_errors_of(candidate)
            if not kept.get("listingDescription"):
                errors.append(ebay_error(25017, "listingDescription is missing."))
        if errors:
            raise _Refused(400, *errors)
        offer.body = kept
        return 204, {}, None

    # -- publishing ---------------------------------------------------------------------------------

    def _publish(self, body: Any, headers: dict[str, str]) -> Answer:
        answers = []
        for request in _bulk(body):
            offer_id = str(request.get("offerId") or "")
            offer = self._offers.get(offer_id)
            if offer is None:
                answers.append({"statusCode": 404, "offerId": offer_id, "errors": [OFFER_NOT_AVAILABLE]})
                continue
            errors = self._publish_errors_of(offer)
            if offer.sku in self._publish_errors:
                errors.append(self._publish_errors[offer.sku])
            if errors:
                answers.append({"statusCode": 400, "offerId": offer_id, "errors": errors})
                continue
            if offer.listing_id is None:
                offer.listing_id = str(next(self._listing_ids))
            offer.status = "PUBLISHED"
            answers.append(
                {"statusCode": 200, "offerId": offer_id, "listingId": offer.listing_id, "warnings": []}
            )
        return _multi(answers)

    def _publish_errors_of(self, offer: FakeOffer) -> list[Json]:
        """What stops the offer from becoming a listing: its item's content and its own settings."""
        item = self._items.get(offer.sku)
        if item is None:
            return [_sku_not_found(offer.sku)]
        errors = _item_publish_errors(item, offer.body)
        body = offer.body
        if not body.get("categoryId"):
            errors.append(ebay_error(25005, "Invalid category ID.", "The offer has no categoryId."))
        policies = body.get("listingPolicies") or {}
        for name, (known, error_id, message) in self.policies.items():
            value = policies.get(name)
            if value not in known:
                why = (
                    f"listingPolicies.{name} is missing."
                    if not value
                    else f"{value} is not a policy of the seller."
                )
                errors.append(ebay_error(error_id, message, why))
        location = body.get("merchantLocationKey")
        if not location:
            errors.append(
                ebay_error(
                    25002,
                    "A user error has occurred. No <Item.Country> exists or <Item.Country> is specified "
                    "as an empty tag in the request.",
                    "The offer has no merchantLocationKey.",
                )
            )
        elif location not in self.location_keys:
            errors.append(
                ebay_error(
                    25002, "A user error has occurred.", f"merchantLocationKey {location} is not a location."
                )
            )
        if _price(body.get("pricingSummary")) is None:
            errors.append(ebay_error(25003, "Invalid price.", "pricingSummary.price must be above 0."))
        quantity = body.get("availableQuantity", _item_quantity(item))
        if not isinstance(quantity, int) or quantity < 1:
            errors.append(
                ebay_error(25004, "Invalid quantity.", "The available quantity must be at least 1.")
            )
        return errors

    # -- price and quantity -------------------------------------------------------------------------

    def _update_price_quantity(self, body: Any, headers: dict[str, str]) -> Answer:
        answers: list[Json] = []
        for request in _bulk(body):
            sku = str(request.get("sku") or "")
            changes = [change for change in request.get("offers") or [] if isinstance(change, dict)]
            item = self._items.get(sku)
            if item is None:
                offer_ids = [str(change.get("offerId") or "") for change in changes] or [""]
                answers += [
                    {
                        "statusCode": 404,
                        "sku": sku,
                        **({"offerId": i} if i else {}),
                        "errors": [_sku_not_found(sku)],
                    }
                    for i in offer_ids
                ]
                continue
            availability = request.get("shipToLocationAvailability")
            if isinstance(availability, dict) and isinstance(availability.get("quantity"), int):
                item.setdefault("availability", {})["shipToLocationAvailability"] = {
                    "quantity": availability["quantity"]
                }
            answers += [self._price_quantity(sku, change) for change in changes]
            if not changes:
                answers.append({"statusCode": 200, "sku": sku, "warnings": []})
        return _multi(answers)

    def _price_quantity(self, sku: str, change: Json) -> Json:
        offer_id = str(change.get("offerId") or "")
        answer: Json = {"sku": sku, "offerId": offer_id}
        offer = self._offers.get(offer_id)
        if offer is None or offer.sku != sku:
            return {"statusCode": 404, **answer, "errors": [OFFER_NOT_AVAILABLE]}
        errors = []
        if "price" in change and _price({"price": change["price"]}) is None:
            errors.append(ebay_error(25003, "Invalid price.", "The price must be above 0."))
        quantity = change.get("availableQuantity")
        if quantity is not None and (not isinstance(quantity, int) or quantity < 0):
            errors.append(ebay_error(25004, "Invalid quantity.", "The quantity must be 0 or more."))
        if errors:
            return {"statusCode": 400, **answer, "errors": errors}
        if "price" in change:
            offer.body["pricingSummary"] = {**offer.body.get("pricingSummary", {}), "price": change["price"]}
        if quantity is not None:
            offer.body["availableQuantity"] = quantity
        return {"statusCode": 200, **answer, "warnings": []}


# -- checks ----------------------------------------------------------------------------------------------


def _bulk(body: Any) -> list[Json]:
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise _Refused(400, _invalid_request())
    if not 1 <= len(requests) <= BULK_LIMIT:
        raise _Refused(
            400,
            ebay_error(
                25709,
                "Invalid value for requests.",
                f"A bulk call takes 1 to {BULK_LIMIT} requests, not {len(requests)}.",
            ),
        )
    return requests


def _require_language(headers: dict[str, str]) -> None:
    language = headers.get("content-language", "")
    if language not in LANGUAGES:
        raise _Refused(
            400,
            ebay_error(
                25709,
                "Invalid value for header Content-Language.",
                f"{language!r} is not a supported language.",
            ),
        )


def _item_errors(request: Json) -> list[Json]:
    sku = request.get("sku")
    if not isinstance(sku, str) or not 0 < len(sku) <= 50:
        return [_invalid_sku()]
    errors = _product_errors(request.get("product") or {})
    condition = request.get("condition")
    if condition is not None and condition not in CONDITIONS:
        errors.append(
            ebay_error(25021, "Invalid item condition information.", f"{condition!r} is not a condition.")
        )
    quantity = _item_quantity(request)
    if quantity is not None and (not isinstance(quantity, int) or quantity < 0):
        errors.append(ebay_error(25004, "Invalid quantity.", "The quantity must be 0 or more."))
    return errors


def _product_errors(product: Json) -> list[Json]:
    errors = []

    def too_long(name: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            errors.append(
                ebay_error(
                    25709,
                    f"Invalid value for {name}.",
                    f"{name} has {len(value)} characters; at most {limit} are allowed.",
                )
            )

    too_long("title", product.get("title"), 80)
    too_long("description", product.get("description"), 4000)
    too_long("brand", product.get("brand"), 65)
    for name, values in (product.get("aspects") or {}).items():
        too_long("aspect name", name, 40)
        for value in values if isinstance(values, list) else [values]:
            too_long(f"aspect {name}", value, 50)
    errors += [
        ebay_error(25709, "Invalid value for ean.", f"{ean!r} is not a valid GTIN (check digit).")
        for ean in product.get("ean") or []
        if not is_gtin(str(ean))
    ]
    images = product.get("imageUrls") or []
    if len(images) > 24:
        errors.append(
            ebay_error(25014, "Invalid pictures.", f"{len(images)} pictures; at most 24 are allowed.")
        )
    errors += [
        ebay_error(25015, "Invalid picture URL.", f"{url} is not an https URL.")
        for url in images
        if not str(url).startswith("https://")
    ]
    return errors


def _item_publish_errors(item: Json, offer: Json) -> list[Json]:
    product = item.get("product") or {}
    errors = []
    if not product.get("title"):
        errors.append(ebay_error(25017, "title is missing."))
    if not product.get("description") and not offer.get("listingDescription"):
        errors.append(
            ebay_error(25017, "description is missing.", "Set product.description or listingDescription.")
        )
    if not product.get("imageUrls"):
        errors.append(ebay_error(25014, "Invalid pictures.", "At least one picture is required."))
    if not item.get("condition"):
        errors.append(ebay_error(25021, "Invalid item condition information.", "condition is missing."))
    return errors


def _offer_value_errors(offer: Json) -> list[Json]:
    errors = []
    if "pricingSummary" in offer and _price(offer["pricingSummary"]) is None:
        errors.append(ebay_error(25003, "Invalid price.", "pricingSummary.price must be above 0."))
    quantity = offer.get("availableQuantity")
    if quantity is not None and (not isinstance(quantity, int) or quantity < 0):
        errors.append(ebay_error(25004, "Invalid quantity.", "availableQuantity must be 0 or more."))
    return errors


def _price(summary: Any) -> Decimal | None:
    """The price in a pricingSummary if it is a number above 0 with a currency."""
    price = summary.get("price") if isinstance(summary, dict) else None
    if not isinstance(price, dict) or not price.get("currency"):
        return None
    try:
        value = Decimal(str(price.get("value")))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def _item_quantity(item: Json) -> Any:
    return ((item.get("availability") or {}).get("shipToLocationAvailability") or {}).get("quantity")


def _sku_not_found(sku: str) -> Json:
    return ebay_error(25702, f"SKU {sku} could not be found or is not available in the system.")


def _invalid_sku() -> Json:
    return ebay_error(
        25707,
        "This is an invalid value for a SKU. Only alphanumeric characters can be used for SKUs, "
        "and their length must not exceed 50 characters",
    )


def _invalid_request() -> Json:
    return ebay_error(2004, "Invalid request", "The request has errors. For help, see the documentation.")


def _multi(answers: list[Json]) -> Answer:
    """A bulk call's answer: 200 when every item succeeded, else 207 (Multi-Status)."""
    ok = all(200 <= int(answer["statusCode"]) < 300 for answer in answers)
    return (200 if ok else 207), {}, {"responses": answers}


def _failure_answer(failure: _Failure) -> Answer:
    if failure.status == 429:
        headers = {} if failure.retry_after is None else {"retry-after": f"{failure.retry_after:g}"}
        return 429, headers, {"errors": [TOO_MANY_REQUESTS]}
    return failure.status, {}, {"errors": [INTERNAL_ERROR]}


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme != "Basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _parse(raw: bytes, *, form: bool) -> Any:
    if not raw:
        return None
    try:
        text = raw.decode()
        return dict(parse_qsl(text)) if form else json.loads(text)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


class _Handler(FakeHandler):
    server_fake: FakeEbay
    protocol_version = "HTTP/1.0"

    def handle_request(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, payload = self.server_fake.answer(
            self.command, self.path, dict(self.headers.items()), raw
        )
        self.send_json(status, payload, headers)

"""eBay through its Sell Inventory API: inventory items, offers, publishing, price and quantity.

A listing goes out in three steps, each a bulk call of up to 25 listings of one marketplace (eBay
takes one Content-Language per inventory call and one marketplace per bulkCreateOffer), so that 30
new listings cost 6 requests, not 90 (36 if eBay does not tell a created item by statusCode 201; see
step 2). Offers of known listings have no bulk update: one PUT each.

1. `bulk_create_or_replace_inventory_item`: the product (title, description, item specifics, EAN,
   images), its condition and quantity, keyed by SKU. Replacing is how content changes.
2. An offer per SKU and marketplace (price, quantity, category, the seller's policies, location).
   A listing whose offer id is known (`listing.ids["offer_id"]`) gets `PUT /offer/{id}`, so its
   content and price are current. One without looks its offer up first (`GET /offer?sku=`): a run
   that crashed after eBay made the offer but before the caller stored its id must not make a
   second one. Only an inventory item eBay has just created (statusCode 201) skips the lookup, as
   an offer cannot exist before its item. The rest get `bulk_create_offer`; if eBay still answers
   "Offer entity already exists" (errorId 25002), the id in its answer is used. Every offer id is
   given to `remember` as soon as it is known, before anything is published.
3. `bulk_publish_offer`: the listing id. Publishing a live offer again is harmless (same listing).

A listing eBay refuses at any step is `rejected` with eBay's words (errorId: message) and drops out;
the others go on. A request still failing after the retry budget (GaveUp) ends the call: every
listing without an outcome is `failed`, retryable, rather than spending the budget again on each
batch of a marketplace that is down. Refused credentials fail every listing left, not retryable.

OAuth: a user access token from the seller's refresh token (the Sell APIs take no application
token), kept until a minute before it expires; a 401 from the API gets one new token and one retry.

Preview sends nothing (eBay has no dry run for offers); it checks what eBay is known to refuse.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

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

MARKETPLACE_IDS = {"ebay_de": "EBAY_DE", "ebay_pl": "EBAY_PL"}
CONTENT_LANGUAGES = {"ebay_de": "de-DE", "ebay_pl": "pl-PL"}
LOCALES = {"ebay_de": "de_DE", "ebay_pl": "pl_PL"}
# The brand's item specific as each site names it (eBay's aspects are in the site's language).
BRAND_ASPECTS = {"ebay_de": "Marke", "ebay_pl": "Marka"}
CONDITIONS = {"new": "NEW", "used": "USED_EXCELLENT"}

INVENTORY = "/sell/inventory/v1"
OAUTH_PATH = "/identity/v1/oauth2/token"
BULK_LIMIT = 25  # requests per bulk call, for every bulk method of the Inventory API
TOKEN_MARGIN_SECONDS = 60.0  # a token is renewed this long before eBay says it expires

# eBay's limits (Inventory API type reference): what preview checks and the request respects.
MAX_SKU = 50
MAX_TITLE = 80
MAX_PRODUCT_DESCRIPTION = 4000
MAX_BRAND = 65
MAX_ASPECT_NAME = 40
MAX_ASPECT_VALUE = 50
MAX_IMAGES = 24
PLACEHOLDER_BRANDS = frozenset({"brand new", "see description"})  # eBay refuses these as a brand
_NOT_UPDATABLE = frozenset({"sku", "marketplaceId", "format"})  # updateOffer's body has no such fields
OFFER_GONE = 25713  # "This Offer is not available.": an offer id eBay no longer knows
OFFER_EXISTS = 25002  # with "Offer entity already exists" and the offer's id in `parameters`


@dataclass(frozen=True, slots=True)
class EbayConfig:
    """One seller's eBay account: the app's keyset, the seller's refresh token (from the consent
    flow, valid 18 months) and the business policies and inventory location every offer needs."""

    client_id: str
    client_secret: str
    refresh_token: str
    api_url: str = "https://api.ebay.com"
    scopes: str = "https://api.ebay.com/oauth/api_scope/sell.inventory"  # space-separated
    fulfillment_policy_id: str = ""
    payment_policy_id: str = ""
    return_policy_id: str = ""
    merchant_location_key: str = ""
    category_id: str = ""  # the default; a listing's attributes["ebay_category_id"] wins
    requests_per_second: float = 10.0
    burst: int = 10
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(slots=True)
class _Item:
    """One listing on its way through the steps: what was sent and answered, the offer id once
    known, and the outcome once there is one."""

    listing: OutgoingListing
    offer_id: str | None
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    created: bool = False  # eBay has just created its inventory item: no offer can exist yet
    outcome: PublishOutcome | None = None

    def key(self, name: str) -> str | None:
        return self.offer_id if name == "offerId" else self.listing.sku

    def ids(self, **more: str) -> dict[str, str]:
        ids = {"sku": self.listing.sku, **more}
        if self.offer_id:
            ids["offer_id"] = self.offer_id
        return ids

    def finish(self, outcome: Outcome, issues: Sequence[str] = (), **ids: str) -> None:
        self.outcome = PublishOutcome(
            sku=self.listing.sku,
            outcome=outcome,
            ids=self.ids(**ids),
            issues=tuple(issues),
            request=dict(self.request),
            response=dict(self.response),
        )


class EbayClient:
    """The MarketplaceClient for eBay (see the module's docstring)."""

    marketplaces = frozenset(MARKETPLACE_IDS)

    def __init__(
        self,
        config: EbayConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        limiter: Pacer | None = None,
    ) -> None:
        """`limiter`: the account's pace shared across processes; else one of this process's."""
        missing = [
            name
            for name, value in (
                ("EBAY_CLIENT_ID", config.client_id),
                ("EBAY_CLIENT_SECRET", config.client_secret),
                ("EBAY_REFRESH_TOKEN", config.refresh_token),
            )
            if not value
        ]
        if missing:
            raise NotConfigured(f"eBay is not configured: set {', '.join(missing)}")
        self.config = config
        self._clock = clock

        def http(pace: Pacer) -> MarketplaceHttp:
            return MarketplaceHttp(
                config.api_url, pace, config.retry, transport=transport, sleep=sleep, clock=clock
            )

        self._http = http(
            limiter or RateLimiter(config.requests_per_second, config.burst, clock=clock, sleep=sleep)
        )
        # Token requests have their own count (and bucket): they are not API calls.
        self._identity = http(RateLimiter(1.0, 2, clock=clock, sleep=sleep))
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    @property
    def requests_sent(self) -> int:
        """API requests, retries included (token requests are counted apart)."""
        return self._http.requests_sent

    @property
    def token_requests(self) -> int:
        return self._identity.requests_sent

    def close(self) -> None:
        self._http.close()
        self._identity.close()

    # -- the protocol -------------------------------------------------------------------------------

    def check_credentials(self) -> None:
        with self._token_lock:
            self._token = None  # a fresh token, not one from before the credentials changed
        self._access_token()

    def publish(
        self,
        listings: Sequence[OutgoingListing],
        *,
        preview: bool = False,
        remember: Remember | None = None,
    ) -> list[PublishOutcome]:
        if preview:
            return [self._preview(listing) for listing in listings]
        items = [_Item(listing, listing.ids.get("offer_id") or None) for listing in listings]
        self._until_stopped(items, lambda: self._publish_all(items, remember))
        return [_outcome(item) for item in items]

    def update_offers(self, listings: Sequence[OutgoingListing]) -> list[PublishOutcome]:
        items = [_Item(listing, listing.ids.get("offer_id") or None) for listing in listings]
        for item in items:
            if item.offer_id is None:
                item.outcome = _failed(item, "not published yet: no eBay offer id")
        self._until_stopped(items, lambda: self._update_all(items))
        return [_outcome(item) for item in items]

    # -- publishing ---------------------------------------------------------------------------------

    def _publish_all(self, items: list[_Item], remember: Remember | None) -> None:
        for item in items:
            if item.listing.marketplace not in MARKETPLACE_IDS:
                item.outcome = _failed(item, f"not an eBay marketplace: {item.listing.marketplace}")
        for batch in _batches([item for item in items if item.outcome is None]):
            accepted = self._put_inventory_items(batch)
            with_offer = self._ensure_offers(accepted, remember)
            self._publish_offers(with_offer)

    def _put_inventory_items(self, batch: list[_Item]) -> list[_Item]:
        for item in batch:
            item.request["inventory_item"] = _inventory_item(item.listing)
        response = self._call(
            "POST",
            f"{INVENTORY}/bulk_create_or_replace_inventory_item",
            json={"requests": [item.request["inventory_item"] for item in batch]},
            headers={"Content-Language": CONTENT_LANGUAGES[batch[0].listing.marketplace]},
        )
        accepted = []
        for item, answer in _settle("inventory_item", batch, response, "sku"):
            item.created = answer.get("statusCode") == 201
            accepted.append(item)
        return accepted

    def _ensure_offers(self, items: list[_Item], remember: Remember | None) -> list[_Item]:
        """The items with a current offer (looked up, updated or created), their ids remembered."""
        if not items:
            return []
        for item in items:
            item.request["offer"] = self._offer(item.listing)
            if item.offer_id is None and not item.created:
                self._look_up_offer(item, remember)
        self._update_offers_content([item for item in items if item.offer_id and item.outcome is None])
        creating = [item for item in items if item.offer_id is None and item.outcome is None]
        found = self._create_offers(creating, remember)
        self._update_offers_content(found)  # made by an earlier run: bring it up to date
        return [item for item in items if item.offer_id is not None and item.outcome is None]

    def _look_up_offer(self, item: _Item, remember: Remember | None) -> None:
        listing = item.listing
        response = self._call(
            "GET",
            f"{INVENTORY}/offer",
            params={"sku": listing.sku, "marketplace_id": MARKETPLACE_IDS[listing.marketplace]},
        )
        body = _json(response)
        item.response["offer_lookup"] = body
        if response.status_code == 404:
            return  # no offer for this SKU (errorId 25713), or no inventory item yet
        if response.status_code != 200:
            item.finish("rejected", _issues(response, body))
            return
        for offer in body.get("offers") or []:
            ours = offer.get("marketplaceId") == MARKETPLACE_IDS[listing.marketplace]
            if ours and offer.get("format", "FIXED_PRICE") == "FIXED_PRICE" and offer.get("offerId"):
                self._known(item, str(offer["offerId"]), remember)
                return

    def _update_offers_content(self, items: list[_Item]) -> None:
        """`PUT /offer/{id}` (a full replacement: eBay has no bulk form of it). An id eBay no longer
        knows is dropped, so that the listing gets a new offer."""
        for item in items:
            assert item.offer_id is not None
            body = {k: v for k, v in item.request["offer"].items() if k not in _NOT_UPDATABLE}
            response = self._call(
                "PUT",
                f"{INVENTORY}/offer/{item.offer_id}",
                json=body,
                headers={"Content-Language": CONTENT_LANGUAGES[item.listing.marketplace]},
            )
            answer = _json(response)
            item.response["offer"] = answer or {"statusCode": response.status_code}
            if response.status_code == 404 and _has_error(answer, OFFER_GONE):
                item.offer_id = None
            elif not response.is_success:
                item.finish("rejected", _issues(response, answer))

    def _create_offers(self, items: list[_Item], remember: Remember | None) -> list[_Item]:
        """`bulk_create_offer` for the items; returns those whose offer already existed."""
        if not items:
            return []
        response = self._call(
            "POST",
            f"{INVENTORY}/bulk_create_offer",
            json={"requests": [item.request["offer"] for item in items]},
            headers={"Content-Language": CONTENT_LANGUAGES[items[0].listing.marketplace]},
        )
        existing = []
        for item, answer in _settle("offer", items, response, "sku", keep=_existing_offer_id):
            created = answer.get("offerId")
            if created:
                self._known(item, str(created), remember)
            elif existing_id := _existing_offer_id(answer):
                self._known(item, existing_id, remember)
                existing.append(item)
            else:
                item.finish("rejected", ("eBay created the offer but gave no offerId",))
        return existing

    def _known(self, item: _Item, offer_id: str, remember: Remember | None) -> None:
        """An offer id eBay has given: handed to `remember` now, before it is published, so that a
        retry of a crashed run finds it stored. An exception from `remember` ends the call."""
        item.offer_id = offer_id
        if remember is not None:
            remember(item.listing, {"offer_id": offer_id})

    def _publish_offers(self, items: list[_Item]) -> None:
        if not items:
            return
        response = self._call(
            "POST",
            f"{INVENTORY}/bulk_publish_offer",
            json={"requests": [{"offerId": item.offer_id} for item in items]},
        )
        for item, answer in _settle("publish", items, response, "offerId"):
            listing_id = answer.get("listingId")
            if listing_id:
                item.finish("published", listing_id=str(listing_id))
            else:
                item.finish("rejected", ("eBay published the offer but gave no listingId",))

    # -- price and quantity -------------------------------------------------------------------------

    def _update_all(self, items: list[_Item]) -> None:
        live = [item for item in items if item.outcome is None]
        for start in range(0, len(live), BULK_LIMIT):
            chunk = live[start : start + BULK_LIMIT]
            for item in chunk:
                item.request["price_quantity"] = _price_quantity(item)
            response = self._call(
                "POST",
                f"{INVENTORY}/bulk_update_price_quantity",
                json={"requests": [item.request["price_quantity"] for item in chunk]},
            )
            for item, _answer in _settle("price_quantity", chunk, response, "offerId"):
                listing_id = item.listing.ids.get("listing_id")
                item.finish("updated", **({"listing_id": listing_id} if listing_id else {}))

    # -- requests and the token ---------------------------------------------------------------------

    def _until_stopped(self, items: list[_Item], work: Callable[[], None]) -> None:
        """Run `work`; what stops it (credentials refused, eBay still failing after the retry budget)
        becomes the outcome of every item that has none yet."""
        try:
            work()
        except CredentialsRefused as refused:
            for item in items:
                if item.outcome is None:
                    item.outcome = _failed(item, f"eBay refused the credentials: {refused}")
        except GaveUp as gave_up:
            body = _json(gave_up.response) if gave_up.response is not None else {}
            issues = (gave_up.reason, *(error_texts(body) if body else ()))
            for item in items:
                if item.outcome is None:
                    item.outcome = _failed(item, *issues, retryable=True)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An API request with the user token. A 401 (token revoked or expired early) gets a new
        token and one more try; a second 401, or a 403 (a scope the token lacks), is CredentialsRefused."""
        response = self._http.request(method, path, prepare=self._authorize, **kwargs)
        if response.status_code == 401:
            self._forget_token(response.request.headers.get("Authorization", ""))
            response = self._http.request(method, path, prepare=self._authorize, **kwargs)
        if response.status_code in (401, 403):
            raise CredentialsRefused("; ".join(_issues(response, _json(response))))
        return response

    def _authorize(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self._access_token()}"
        return request

    def _access_token(self) -> str:
        # The lock is held while a token is fetched: other threads wait for it instead of each
        # fetching their own.
        with self._token_lock:
            if self._token is None or self._clock() >= self._token_expires:
                self._token, self._token_expires = self._fetch_token()
            return self._token

    def _forget_token(self, authorization: str) -> None:
        with self._token_lock:
            if self._token is not None and authorization == f"Bearer {self._token}":
                self._token = None  # not when another thread has already replaced it

    def _fetch_token(self) -> tuple[str, float]:
        """(token, when to renew it) from the refresh-token grant; CredentialsRefused with eBay's
        `error` and `error_description` (invalid_client, invalid_grant, invalid_scope)."""
        config = self.config
        basic = base64.b64encode(f"{config.client_id}:{config.client_secret}".encode()).decode()
        response = self._identity.request(
            "POST",
            OAUTH_PATH,
            data={
                "grant_type": "refresh_token",
                "refresh_token": config.refresh_token,
                "scope": config.scopes,
            },
            headers={"Authorization": f"Basic {basic}"},
        )
        body = _json(response)
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str):
            reason = ": ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))
            raise CredentialsRefused(reason or f"HTTP {response.status_code} from the token endpoint")
        expires_in = float(body.get("expires_in") or 7200)
        return token, self._clock() + expires_in - TOKEN_MARGIN_SECONDS

    # -- what is sent -------------------------------------------------------------------------------

    def _category(self, listing: OutgoingListing) -> str:
        return listing.attributes.get("ebay_category_id") or self.config.category_id

    def _offer(self, listing: OutgoingListing) -> dict[str, Any]:
        """The offer (bulk_create_offer's request; PUT takes it without sku, marketplace, format).
        Settings left empty are left out, so that eBay names what is missing."""
        config = self.config
        policies = {
            "fulfillmentPolicyId": config.fulfillment_policy_id,
            "paymentPolicyId": config.payment_policy_id,
            "returnPolicyId": config.return_policy_id,
        }
        offer: dict[str, Any] = {
            "sku": listing.sku,
            "marketplaceId": MARKETPLACE_IDS[listing.marketplace],
            "format": "FIXED_PRICE",
            "availableQuantity": listing.quantity,
            "categoryId": self._category(listing),
            "listingDescription": listing.description_html or listing.description_text,
            "listingPolicies": {name: value for name, value in policies.items() if value},
            "pricingSummary": {"price": {"value": _money(listing.price), "currency": listing.currency}},
            "merchantLocationKey": config.merchant_location_key,
        }
        return {name: value for name, value in offer.items() if value not in ("", None)}

    def _preview(self, listing: OutgoingListing) -> PublishOutcome:
        problems = self._problems(listing)
        return PublishOutcome(
            sku=listing.sku,
            outcome="rejected" if problems else "valid",
            issues=tuple(problems),
            request={"inventory_item": _inventory_item(listing), "offer": self._offer(listing)}
            if listing.marketplace in MARKETPLACE_IDS
            else {},
        )

    def _problems(self, listing: OutgoingListing) -> list[str]:
        """What eBay would refuse, as far as it is known without asking it."""
        if listing.marketplace not in MARKETPLACE_IDS:
            return [f"not an eBay marketplace: {listing.marketplace}"]
        problems = [*_content_problems(listing)]
        config = self.config
        settings = {  # by the names of the settings that hold them
            "EBAY_CATEGORY_ID (or the listing's ebay_category_id)": self._category(listing),
            "EBAY_FULFILLMENT_POLICY_ID": config.fulfillment_policy_id,
            "EBAY_PAYMENT_POLICY_ID": config.payment_policy_id,
            "EBAY_RETURN_POLICY_ID": config.return_policy_id,
            "EBAY_MERCHANT_LOCATION_KEY": config.merchant_location_key,
        }
        problems += [f"not configured: {name}" for name, value in settings.items() if not value]
        return problems


# -- helpers ------------------------------------------------------------------------------------------


def _batches(items: list[_Item]) -> Iterator[list[_Item]]:
    """Up to BULK_LIMIT items of one marketplace each, in the items' order within a marketplace."""
    by_marketplace: dict[str, list[_Item]] = {}
    for item in items:
        by_marketplace.setdefault(item.listing.marketplace, []).append(item)
    for group in by_marketplace.values():
        for start in range(0, len(group), BULK_LIMIT):
            yield group[start : start + BULK_LIMIT]


def _settle(
    step: str,
    items: list[_Item],
    response: httpx.Response,
    key: str,
    *,
    keep: Callable[[Mapping[str, Any]], object] | None = None,
) -> list[tuple[_Item, dict[str, Any]]]:
    """Each item's own answer in a bulk response, matched by `key` ("sku" or "offerId"). The items
    eBay refused are rejected here with its words (unless `keep(answer)` says the caller handles the
    refusal); the others are returned with their answers. A refused call (400: no per-item answers)
    rejects them all."""
    body = _json(response)
    if response.status_code not in (200, 207):
        issues = _issues(response, body)
        for item in items:
            item.response[step] = body
            item.finish("rejected", issues)
        return []
    answers = {str(a.get(key)): a for a in body.get("responses") or [] if isinstance(a, dict)}
    accepted = []
    for item in items:
        answer = answers.get(str(item.key(key)))
        item.response[step] = answer
        if answer is None:
            item.finish("rejected", (f"eBay's {step} answer did not include this {key}",))
        elif 200 <= int(answer.get("statusCode") or 0) < 300 or (keep is not None and keep(answer)):
            accepted.append((item, answer))
        else:
            item.finish("rejected", error_texts(answer) or (f"statusCode {answer.get('statusCode')}",))
    return accepted


def _inventory_item(listing: OutgoingListing) -> dict[str, Any]:
    product: dict[str, Any] = {
        "title": listing.title,
        "aspects": _aspects(listing),
        "imageUrls": list(listing.images),
    }
    # product.description is plain text (4000 characters at most); the HTML goes in the offer's
    # listingDescription, which is what buyers see.
    description = listing.description_text or listing.description_html
    if description:
        product["description"] = description[:MAX_PRODUCT_DESCRIPTION]
    if listing.brand:
        product["brand"] = listing.brand
    if listing.ean:
        product["ean"] = [listing.ean]
    return {
        "sku": listing.sku,
        "locale": LOCALES[listing.marketplace],
        "product": product,
        "condition": CONDITIONS[listing.condition],
        "availability": {"shipToLocationAvailability": {"quantity": listing.quantity}},
    }


def _aspects(listing: OutgoingListing) -> dict[str, list[str]]:
    """The brand and the listing's attributes as single-value item specifics. Attributes eBay would
    refuse (name over 40 or value over 50 characters) are left out: an optional item specific is not
    worth losing the listing; the brand is not left out (preview names it)."""
    aspects: dict[str, list[str]] = {}
    if listing.brand:
        aspects[BRAND_ASPECTS[listing.marketplace]] = [listing.brand]
    for name, value in listing.attributes.items():
        fits = 0 < len(name) <= MAX_ASPECT_NAME and 0 < len(value) <= MAX_ASPECT_VALUE
        if fits and not name.startswith("ebay_") and name not in aspects:
            aspects[name] = [value]
    return aspects


def _price_quantity(item: _Item) -> dict[str, Any]:
    listing = item.listing
    return {
        "sku": listing.sku,
        "shipToLocationAvailability": {"quantity": listing.quantity},
        "offers": [
            {
                "offerId": item.offer_id,
                "availableQuantity": listing.quantity,
                "price": {"value": _money(listing.price), "currency": listing.currency},
            }
        ],
    }


def _content_problems(listing: OutgoingListing) -> Iterator[str]:
    if not 0 < len(listing.sku) <= MAX_SKU:
        yield f"SKU must have 1 to {MAX_SKU} characters (has {len(listing.sku)})"
    if not listing.title.strip():
        yield "no title"
    elif len(listing.title) > MAX_TITLE:
        yield f"title has {len(listing.title)} characters; eBay allows {MAX_TITLE}"
    if not (listing.description_html or listing.description_text).strip():
        yield "no description"
    if listing.ean and not is_gtin13(listing.ean):
        yield f"EAN {listing.ean!r} is not a valid GTIN-13 (13 digits, the last a check digit)"
    if not 1 <= len(listing.images) <= MAX_IMAGES:
        yield f"eBay needs 1 to {MAX_IMAGES} images (has {len(listing.images)})"
    yield from (
        f"image is not an https URL: {url}" for url in listing.images if not url.startswith("https://")
    )
    if listing.price <= 0:
        yield f"price must be above 0 (is {listing.price})"
    if listing.quantity < 1:
        yield f"quantity must be at least 1 to publish (is {listing.quantity})"
    yield from _brand_problems(listing)


def _brand_problems(listing: OutgoingListing) -> Iterator[str]:
    brand = listing.brand
    if not brand:
        return
    if brand.strip().casefold() in PLACEHOLDER_BRANDS:
        yield f"brand {brand!r} is a placeholder eBay refuses"
    if len(brand) > MAX_BRAND:
        yield f"brand has {len(brand)} characters; eBay allows {MAX_BRAND}"
    elif len(brand) > MAX_ASPECT_VALUE:
        aspect = BRAND_ASPECTS[listing.marketplace]
        yield f"brand has {len(brand)} characters; eBay allows {MAX_ASPECT_VALUE} in item specific {aspect!r}"


def is_gtin13(code: str) -> bool:
    """13 digits whose last is the GS1 check digit (weights 1, 3, 1, 3... from the left)."""
    if len(code) != 13 or not code.isascii() or not code.isdigit():
        return False
    total = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _json(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object; {} for an empty body (204) or one that is not a JSON object."""
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:500]}
    return body if isinstance(body, dict) else {"message": str(body)[:500]}


def _issues(response: httpx.Response, body: Mapping[str, Any]) -> tuple[str, ...]:
    return error_texts(body) or (f"HTTP {response.status_code}",)


def _has_error(body: Mapping[str, Any], error_id: int) -> bool:
    return any(isinstance(e, Mapping) and e.get("errorId") == error_id for e in body.get("errors") or [])


def _existing_offer_id(answer: Mapping[str, Any]) -> str | None:
    """The id of the offer eBay says already exists for the SKU (errorId 25002 with an `offerId`
    parameter), if that is why it refused to create one."""
    for error in answer.get("errors") or []:
        if not isinstance(error, Mapping) or error.get("errorId") != OFFER_EXISTS:
            continue
        for parameter in error.get("parameters") or []:
            if isinstance(parameter, Mapping) and parameter.get("name") == "offerId":
                return str(parameter.get("value") or "") or None
    return None


def _failed(item: _Item, *issues: str, retryable: bool = False) -> PublishOutcome:
    return PublishOutcome(
        sku=item.listing.sku,
        outcome="failed",
        ids=item.ids(),
        issues=issues,
        request=dict(item.request),
        response=dict(item.response),
        retryable=retryable,
    )


def _outcome(item: _Item) -> PublishOutcome:
    assert item.outcome is not None, f"no outcome for {item.listing.sku}"
    return item.outcome

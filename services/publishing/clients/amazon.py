"""Amazon's Selling Partner API, Listings Items 2021-08-01: one seller account on amazon.de and amazon.pl.

A listing is one `PUT /listings/2021-08-01/items/{sellerId}/{sku}` with the whole listing (product facts
and offer, `requirements: LISTING`) in the product type's JSON attributes; Amazon keys listings by the
seller's SKU, so a second PUT of a SKU replaces it (idempotent, nothing to remember between retries).
A change of price and quantity only is a `PATCH` of the two offer attributes. With `mode=
VALIDATION_PREVIEW` Amazon validates a PUT without listing anything (our preview).

Amazon answers 200 for what it refused too: the body's `status` says ACCEPTED, VALID (preview) or
INVALID, and `issues` say why in its words (ERROR issues refuse; WARNING issues do not). A 400 with
`errors[]` is a request it could not read.

Auth is Login with Amazon (LWA) only: the seller's refresh token buys an access token for an hour, sent
as `x-amz-access-token` (SP-API no longer asks for AWS Signature V4). The token is cached until a
minute before it expires; a 403 (a token revoked or expired before its time) gets one new token and
one more try.

Rate: putListingsItem and patchListingsItem allow 5 requests a second per seller and application; the
burst is 10 in the API reference's usage plan and 5 on the rate-limits page, so we burst 4.
Amazon's 429 carries no Retry-After, only `x-amzn-RateLimit-Limit`, so MarketplaceHttp's backoff
applies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

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

MARKETPLACE_IDS = {"amazon_de": "A1PA6795UKMFR9", "amazon_pl": "A1C3SOZRARQ6R3"}
# The tag of the copy's language; a marketplace's own language when we know no tag for the copy's.
LANGUAGE_TAGS = {"de": "de_DE", "pl": "pl_PL", "en": "en_GB", "cs": "cs_CZ", "nl": "nl_NL", "tr": "tr_TR"}
MARKETPLACE_LANGUAGE_TAGS = {"amazon_de": "de_DE", "amazon_pl": "pl_PL"}
CONDITION_TYPES = {"new": "new_new", "used": "used_good"}

LISTINGS_ITEMS_PATH = "/listings/2021-08-01/items"
TOKEN_MARGIN_SECONDS = 60.0  # a token is renewed this long before it expires: no request carries a dying one
MAX_BULLET_POINTS = 5  # most product types' schemas allow five
MAX_OTHER_IMAGES = 8  # other_product_image_locator_1..8
USER_AGENT = "listing-pipeline/0.1 (Language=Python)"  # the form SP-API asks applications to send


@dataclass(frozen=True, slots=True)
class AmazonConfig:
    """One seller's SP-API app authorization. The secrets stay out of repr (logs, tracebacks)."""

    seller_id: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    api_url: str = "https://sellingpartnerapi-eu.amazon.com"
    token_url: str = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - a URL, not a secret
    product_type: str = "PRODUCT"
    requests_per_second: float = 5.0
    # Amazon's burst is 5 (its rate-limits page; the operation reference says 10). One less: requests do
    # not arrive at the pace they leave (connections, threads), and a 429 costs a backoff.
    burst: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def language_tag(listing: OutgoingListing) -> str:
    """Amazon's tag for the language the listing's copy is written in (de_DE, pl_PL)."""
    return LANGUAGE_TAGS.get(listing.language) or MARKETPLACE_LANGUAGE_TAGS.get(listing.marketplace, "de_DE")


def item_path(seller_id: str, sku: str) -> str:
    """The listings item's path; SKUs may hold '/', spaces or umlauts, so every character is encoded."""
    return f"{LISTINGS_ITEMS_PATH}/{quote(seller_id, safe='')}/{quote(sku, safe='')}"


class LoginWithAmazon:
    """Access tokens for one refresh token, cached; one refresh at a time across threads (a burst of
    workers whose token just expired asks LWA once, not once each)."""

    def __init__(
        self,
        config: AmazonConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        # LWA states no rate for token requests; one a second (bursts of 5) keeps a retry loop polite.
        limiter = RateLimiter(1.0, 5, clock=clock, sleep=sleep)
        # No base URL: the token URL is absolute and lives on another host than the API.
        self.http = MarketplaceHttp("", limiter, config.retry, transport=transport, sleep=sleep, clock=clock)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    @property
    def requests_sent(self) -> int:
        return self.http.requests_sent

    def token(self) -> str:
        """A token with at least a minute to live. NotConfigured, CredentialsRefused or GaveUp."""
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._token, self._renew_at = self._fetch()
            return self._token

    def discard(self, token: str) -> None:
        """Forget `token` (SP-API refused it), unless another thread has already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        missing = missing_settings(self.config)
        if missing:
            raise NotConfigured(f"Amazon SP-API is not configured: {', '.join(missing)} missing")
        asked_at = self._clock()
        response = self.http.request(
            "POST",
            self.config.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.config.refresh_token,
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
            },
            headers={"accept": "application/json"},
        )
        body = _json(response)
        if response.status_code >= 400:
            # 400 invalid_grant (the refresh token), 401 invalid_client (id or secret): LWA's words.
            raise CredentialsRefused(_lwa_reason(body, response.status_code))
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise CredentialsRefused(f"Login with Amazon answered without an access token: {str(body)[:200]}")
        lifetime = _seconds(body.get("expires_in"), default=3600.0)
        return token, asked_at + lifetime - TOKEN_MARGIN_SECONDS


def missing_settings(config: AmazonConfig) -> list[str]:
    """The environment variables (services.platform.settings) a request needs and the config lacks."""
    wanted = {
        "seller_id": config.seller_id,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "refresh_token": config.refresh_token,
    }
    return [f"AMAZON_{name.upper()}" for name, value in wanted.items() if not value]


class AmazonClient:
    """The MarketplaceClient for Amazon (see the module's docstring)."""

    marketplaces = frozenset(MARKETPLACE_IDS)

    def __init__(
        self,
        config: AmazonConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        limiter: Pacer | None = None,
    ) -> None:
        """`limiter`: the account's pace shared across processes; else one of this process's."""
        self.config = config
        limiter = limiter or RateLimiter(config.requests_per_second, config.burst, clock=clock, sleep=sleep)
        self.http = MarketplaceHttp(
            config.api_url, limiter, config.retry, transport=transport, sleep=sleep, clock=clock
        )
        self.login = LoginWithAmazon(config, transport=transport, sleep=sleep, clock=clock)

    @property
    def requests_sent(self) -> int:
        """SP-API requests, retries included (token requests are `token_requests`)."""
        return self.http.requests_sent

    @property
    def token_requests(self) -> int:
        return self.login.requests_sent

    def close(self) -> None:
        self.http.close()
        self.login.http.close()

    def check_credentials(self) -> None:
        self.login.token()

    def publish(
        self,
        listings: Sequence[OutgoingListing],
        *,
        preview: bool = False,
        remember: Remember | None = None,
    ) -> list[PublishOutcome]:
        # Amazon's key for a listing is our own SKU: no id of Amazon's has to be kept for a retry,
        # so `remember` is never called.
        del remember
        unsent = self._without_token(listings)
        if unsent is not None:
            return unsent
        return [self._put(listing, preview) for listing in listings]

    def update_offers(self, listings: Sequence[OutgoingListing]) -> list[PublishOutcome]:
        unsent = self._without_token(listings)
        if unsent is not None:
            return unsent
        return [self._patch(listing) for listing in listings]

    def _without_token(self, listings: Sequence[OutgoingListing]) -> list[PublishOutcome] | None:
        """A failed outcome for every listing when no token can be had (asked once, not per listing:
        refused credentials would be refused for each); None when there is a token."""
        if not listings:
            return []
        try:
            self.login.token()
        except NotConfigured as error:
            return [PublishOutcome(listing.sku, "failed", issues=(str(error),)) for listing in listings]
        except CredentialsRefused as error:
            reason = f"Login with Amazon: {error}"
            return [PublishOutcome(listing.sku, "failed", issues=(reason,)) for listing in listings]
        except GaveUp as error:
            reason = f"Login with Amazon: {error.reason}"
            return [
                PublishOutcome(listing.sku, "failed", issues=(reason,), retryable=True)
                for listing in listings
            ]
        return None

    def _put(self, listing: OutgoingListing, preview: bool) -> PublishOutcome:
        marketplace_id = MARKETPLACE_IDS.get(listing.marketplace)
        if marketplace_id is None:
            return _not_served(listing)
        body = {
            "productType": self.config.product_type,
            "requirements": "LISTING",
            "attributes": listing_attributes(listing, marketplace_id),
        }
        query = {"marketplaceIds": marketplace_id, "includedData": "issues"}
        if preview:
            query["mode"] = "VALIDATION_PREVIEW"
        return self._submit(listing, "PUT", listing.sku, query, body, "valid" if preview else "published")

    def _patch(self, listing: OutgoingListing) -> PublishOutcome:
        marketplace_id = MARKETPLACE_IDS.get(listing.marketplace)
        if marketplace_id is None:
            return _not_served(listing)
        body = {
            "productType": self.config.product_type,
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/purchasable_offer",
                    "value": purchasable_offer(listing, marketplace_id),
                },
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": fulfillment_availability(listing),
                },
            ],
        }
        query = {"marketplaceIds": marketplace_id, "includedData": "issues"}
        sku = listing.ids.get("sku") or listing.sku  # the SKU it went live under
        return self._submit(listing, "PATCH", sku, query, body, "updated")

    def _submit(
        self,
        listing: OutgoingListing,
        method: str,
        sku: str,
        query: Mapping[str, str],
        body: dict[str, Any],
        success: Outcome,
    ) -> PublishOutcome:
        """Send one listing's request and read Amazon's answer; never raises for the listing."""
        path = f"{item_path(self.config.seller_id, sku)}?{urlencode(query)}"
        sent = {"method": method, "path": path, "body": body}  # no token: this goes to the sync log
        try:
            response = self._send(method, path, body)
        except GaveUp as error:
            answer = _json(error.response) if error.response is not None else None
            return PublishOutcome(
                listing.sku,
                "failed",
                issues=(_gave_up_text(error),),
                request=sent,
                response=answer if isinstance(answer, dict) else {},
                retryable=True,
            )
        except (NotConfigured, CredentialsRefused) as error:  # the token's renewal after a 403
            return PublishOutcome(
                listing.sku, "failed", issues=(f"Login with Amazon: {error}",), request=sent
            )
        return _outcome(listing, sku, response, sent, success)

    def _send(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        """The response; a 403 (token revoked or expired early) gets one new token and one more try."""
        response, token = self._send_once(method, path, body)
        if response.status_code == 403:
            self.login.discard(token)
            response, _ = self._send_once(method, path, body)
        return response

    def _send_once(self, method: str, path: str, body: dict[str, Any]) -> tuple[httpx.Response, str]:
        used = ""

        def authorize(request: httpx.Request) -> httpx.Request:
            # Asked per attempt: a request retried for a while past the token's hour gets a new one.
            nonlocal used
            used = self.login.token()
            request.headers["x-amz-access-token"] = used
            return request

        response = self.http.request(
            method,
            path,
            json=body,
            headers={"accept": "application/json", "user-agent": USER_AGENT},
            prepare=authorize,
        )
        return response, used


def listing_attributes(listing: OutgoingListing, marketplace_id: str) -> dict[str, list[dict[str, Any]]]:
    """The listing in the product type's attributes: each a list of objects for one marketplace, text
    ones in one language. Without a brand or an EAN the attribute is left out: Amazon's answer then
    says what it requires, in its words."""
    tag = language_tag(listing)

    def text(value: str) -> dict[str, Any]:
        return {"value": value, "language_tag": tag, "marketplace_id": marketplace_id}

    attributes: dict[str, list[dict[str, Any]]] = {
        "item_name": [text(listing.title)],
        # Plain text: Amazon no longer renders HTML in descriptions for most categories.
        "product_description": [text(listing.description_text)],
        "condition_type": [{"value": CONDITION_TYPES[listing.condition], "marketplace_id": marketplace_id}],
        "purchasable_offer": purchasable_offer(listing, marketplace_id),
        "fulfillment_availability": fulfillment_availability(listing),
    }
    if listing.brand:
        attributes["brand"] = [text(listing.brand)]
    if listing.ean:
        attributes["externally_assigned_product_identifier"] = [
            {"type": "ean", "value": listing.ean, "marketplace_id": marketplace_id}
        ]
    if listing.bullet_points:
        attributes["bullet_point"] = [text(bullet) for bullet in listing.bullet_points[:MAX_BULLET_POINTS]]
    attributes.update(image_attributes(listing.images, marketplace_id))
    return attributes


def purchasable_offer(listing: OutgoingListing, marketplace_id: str) -> list[dict[str, Any]]:
    """The gross price; a JSON number, as the schema's `value_with_tax` is (two decimals survive a float)."""
    return [
        {
            "marketplace_id": marketplace_id,
            "currency": listing.currency,
            "our_price": [{"schedule": [{"value_with_tax": float(listing.price)}]}],
        }
    ]


def fulfillment_availability(listing: OutgoingListing) -> list[dict[str, Any]]:
    """Stock shipped by the seller (DEFAULT channel); this attribute has no marketplace_id in the schema."""
    return [
        {
            "fulfillment_channel_code": "DEFAULT",
            "quantity": listing.quantity,
            "lead_time_to_ship_max_days": listing.handling_time_days,
        }
    ]


def image_attributes(images: Sequence[str], marketplace_id: str) -> dict[str, list[dict[str, Any]]]:
    """The first image as the main one, the next eight as others (Amazon's slots; more are dropped)."""
    if not images:
        return {}
    found = {"main_product_image_locator": [{"media_location": images[0], "marketplace_id": marketplace_id}]}
    for number, url in enumerate(images[1 : 1 + MAX_OTHER_IMAGES], start=1):
        found[f"other_product_image_locator_{number}"] = [
            {"media_location": url, "marketplace_id": marketplace_id}
        ]
    return found


def _outcome(
    listing: OutgoingListing, sku: str, response: httpx.Response, sent: Mapping[str, Any], success: Outcome
) -> PublishOutcome:
    body = _json(response)
    answer = body if isinstance(body, dict) else {"text": response.text[:500]}
    if response.is_success and isinstance(body, dict):
        return _submission_outcome(listing, sku, body, sent, success)
    if response.status_code == 403:  # still refused with a new token: the app's roles or the seller id
        return PublishOutcome(
            listing.sku, "failed", issues=sp_api_errors(body, 403), request=sent, response=answer
        )
    # 400 (a request Amazon could not read), 404 (a SKU it does not have) and other refusals.
    return PublishOutcome(
        listing.sku,
        "rejected",
        issues=sp_api_errors(body, response.status_code),
        request=sent,
        response=answer,
    )


def _submission_outcome(
    listing: OutgoingListing, sku: str, body: dict[str, Any], sent: Mapping[str, Any], success: Outcome
) -> PublishOutcome:
    """Read a 200's `status`: a 200 can be a refusal (INVALID). WARNING issues stay in the response."""
    status = body.get("status")
    issues = [issue for issue in body.get("issues") or [] if isinstance(issue, Mapping)]
    if status == "ACCEPTED":
        ids = {"sku": sku}
        if isinstance(body.get("submissionId"), str):
            ids["submission_id"] = body["submissionId"]
        return PublishOutcome(listing.sku, success, ids=ids, request=sent, response=body)
    if status == "VALID":
        return PublishOutcome(listing.sku, "valid", request=sent, response=body)
    if status == "INVALID":
        errors = [issue for issue in issues if issue.get("severity") == "ERROR"] or issues
        reasons = tuple(issue_text(issue) for issue in errors) or ("INVALID, without issues",)
        return PublishOutcome(listing.sku, "rejected", issues=reasons, request=sent, response=body)
    return PublishOutcome(
        listing.sku,
        "failed",
        issues=(f"unexpected submission status {status!r}",),
        request=sent,
        response=body,
    )


def issue_text(issue: Mapping[str, Any]) -> str:
    """'CODE: message (attribute, ...)', Amazon's words."""
    text = f"{issue.get('code', '')}: {issue.get('message', '')}".strip(": ")
    names = issue.get("attributeNames")
    if isinstance(names, list) and names:
        text += f" ({', '.join(str(name) for name in names)})"
    return text


def sp_api_errors(body: Any, status: int) -> tuple[str, ...]:
    """SP-API's `errors[]` as lines with their `details` (error_texts), or the HTTP status."""
    return error_texts(body) or (f"HTTP {status}",)


def _gave_up_text(error: GaveUp) -> str:
    if error.response is not None and error.response.status_code == 429:
        return f"throttled by Amazon: {error.reason}"
    return f"Amazon SP-API: {error.reason}"


def _not_served(listing: OutgoingListing) -> PublishOutcome:
    return PublishOutcome(
        listing.sku,
        "failed",
        issues=(f"{listing.marketplace} is not an Amazon marketplace this client serves",),
    )


def _lwa_reason(body: Any, status: int) -> str:
    if isinstance(body, dict) and (body.get("error") or body.get("error_description")):
        return f"{body.get('error', '')}: {body.get('error_description', '')}".strip(": ")
    return f"HTTP {status} from Login with Amazon"


def _seconds(value: Any, *, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None

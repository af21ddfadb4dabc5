"""A fake Amazon on loopback: Login with Amazon (LWA) and the SP-API Listings Items API 2021-08-01, one
real HTTP server for both.

    with FakeAmazon() as amazon:
        config = AmazonConfig(amazon.seller_id, amazon.client_id, amazon.client_secret,
                              amazon.refresh_token, api_url=amazon.base_url, token_url=amazon.token_url)
        AmazonClient(config).publish([...])
        amazon.listings[("SKU-1", "A1PA6795UKMFR9")].attributes["item_name"]

What it checks, as Amazon does:

* LWA (`POST /auth/o2/token`): a form body with grant_type=refresh_token, the refresh token, client id
  and secret. A missing parameter is 400 `invalid_request`, a wrong client id or secret 401
  `invalid_client`, another grant type 400 `unsupported_grant_type`, a wrong refresh token 400
  `invalid_grant`, each as `{"error", "error_description"}`. A good one gets
  `{"access_token": "Atza|...", "refresh_token", "token_type": "bearer", "expires_in"}`.
* Every SP-API request: `x-amz-access-token` issued here and not expired, else 403 `Unauthorized`
  ("Access to requested resource is denied.", details saying the token expired or is invalid); the
  seller id in the path is the fake's (else 403); `marketplaceIds` is one marketplace it knows (DE,
  PL; else 400 `InvalidInput`); `mode` only VALIDATION_PREVIEW, `includedData` only the operation's
  values (else 400). A token bucket per operation (putListingsItem, patchListingsItem,
  getListingsItem, deleteListingsItem) at 5 requests a second, bursts of 10: beyond it, 429
  `QuotaExceeded` with `x-amzn-RateLimit-Limit` and no Retry-After, as Amazon answers.
* PUT's body: `productType` (an upper-case product type name) and `attributes` (an object) or 400
  `InvalidInput`; `requirements` LISTING (the default), LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY.
  The attributes then give a 200 with status INVALID and `issues` (code, message, severity,
  attributeNames, categories) when: an attribute's value is not a non-empty list of objects, or an
  object's `marketplace_id` is missing or another marketplace's (fulfillment_availability has none in
  the schema); an attribute the requirements need is missing (item_name, brand, product_description,
  condition_type, purchasable_offer, fulfillment_availability, main_product_image_locator, and a
  product identifier: externally_assigned_product_identifier or merchant_suggested_asin); a text
  without a value or with a language tag the marketplace does not take; item_name over 200
  characters; an EAN that is not 13 digits with a right check digit (UPC/GTIN likewise by length);
  a condition_type outside the schema's values; a price that is not a positive number or not in the
  marketplace's currency (EUR on DE, PLN on PL); a quantity that is not a whole number >= 0; an image
  URL that is not https. HTML tags in product_description are a WARNING (it is still accepted).
  Valid: stored by (SKU, marketplace id), a second PUT replacing the first, and ACCEPTED with a
  submissionId; with mode=VALIDATION_PREVIEW: VALID or INVALID, nothing stored.
* PATCH: `productType` and `patches` (op add/replace/delete, path /attributes/<name>) or 400; an
  unknown SKU is 404 `NOT_FOUND`; the patched listing is validated as a PUT would be.
* GET answers a stored listing with `includedData` (default summaries): summaries, attributes,
  issues, offers, fulfillmentAvailability; DELETE removes one.

Taken from Amazon's documentation only, never seen from the real service: the LWA error descriptions'
exact words; the 403 details for a missing or unknown token; the 403 for a seller id the token does
not cover (Amazon may answer 400); issue code 90220 and its words "'x' is required but not supplied."
come from the use case guide's example, but code 4000001 for every invalid value and 99300 for the
HTML warning are guesses (Amazon has many codes, all messages here are the fake's words); the 404's
code NOT_FOUND; the language tags each marketplace takes; which attributes the PRODUCT type needs
(the real list comes from the Product Type Definitions API and differs by product type). Newer rate
limit tables give a burst of 5, the API reference 10: `burst` sets it. Not checked: lengths of the
description and bullets, attributes a product type does not know, per-application limits, images
that cannot be downloaded, and anything Amazon checks after ACCEPTED (asynchronous issues).

Python side: `listings`, `requests` (SP-API, with the status answered), `token_requests` (LWA),
`fail_next(status, times)` / `throttle_next(times)` for the next SP-API requests (before any other
check), `expire_tokens()`. `clock` is injectable so that tests can share a virtual clock with the
client: the buckets refill and tokens expire on it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeGuard
from urllib.parse import parse_qs, unquote, urlsplit

from devstack.loopback import FakeHandler, LoopbackServer


@dataclass(frozen=True)
class Marketplace:
    country: str
    currency: str
    language_tags: frozenset[str]


MARKETPLACES = {
    "A1PA6795UKMFR9": Marketplace(
        "DE", "EUR", frozenset({"de_DE", "en_GB", "pl_PL", "cs_CZ", "nl_NL", "tr_TR"})
    ),
    "A1C3SOZRARQ6R3": Marketplace("PL", "PLN", frozenset({"pl_PL", "en_GB"})),
}

TOKEN_PATH = "/auth/o2/token"  # noqa: S105 - a path, not a secret
ITEMS_PREFIX = "/listings/2021-08-01/items/"
OPERATIONS = {
    "PUT": "putListingsItem",
    "PATCH": "patchListingsItem",
    "GET": "getListingsItem",
    "DELETE": "deleteListingsItem",
}
INCLUDED_DATA = {
    "PUT": frozenset({"identifiers", "issues"}),
    "PATCH": frozenset({"identifiers", "issues"}),
    "DELETE": frozenset(),
    "GET": frozenset(
        {"summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement",
         "relationships", "productTypes"}
    ),
}  # fmt: skip
DEFAULT_INCLUDED = {"PUT": "issues", "PATCH": "issues", "DELETE": "", "GET": "summaries"}

DEFAULT_SELLER_ID = "A2SELLER"
DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.fake"
DEFAULT_CLIENT_SECRET = "amzn1.oa2-cs.v1.fake-secret"  # noqa: S105 - the fake's own, for tests and devstack
DEFAULT_REFRESH_TOKEN = "Atzr|fake-refresh-token"  # noqa: S105 - the fake's own, for tests and devstack

MISSING_CODE = "90220"  # from the documentation's example
INVALID_CODE = "4000001"  # a guess: the fake uses it for every invalid value
HTML_WARNING_CODE = "99300"  # a guess
MAX_ITEM_NAME = 200
REQUIREMENTS = {
    "LISTING": (
        "item_name", "brand", "product_description", "condition_type", "purchasable_offer",
        "fulfillment_availability", "main_product_image_locator",
    ),
    "LISTING_PRODUCT_ONLY": ("item_name", "brand", "product_description", "main_product_image_locator"),
    "LISTING_OFFER_ONLY": ("condition_type", "purchasable_offer", "fulfillment_availability"),
}  # fmt: skip
IDENTIFIER = "externally_assigned_product_identifier"
TEXT_ATTRIBUTES = ("item_name", "brand", "product_description", "bullet_point")
CONDITION_TYPES = frozenset(
    {"new_new", "new_open_box", "new_oem", "refurbished_refurbished", "used_like_new", "used_very_good",
     "used_good", "used_acceptable", "collectible_like_new", "collectible_very_good", "collectible_good",
     "collectible_acceptable", "club_club"}
)  # fmt: skip
IDENTIFIER_LENGTHS = {"ean": (13,), "upc": (12,), "gtin": (8, 12, 13, 14)}
NO_MARKETPLACE_ID = frozenset({"fulfillment_availability"})  # attributes the schema gives no marketplace_id
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_PRODUCT_TYPE = re.compile(r"^[A-Z][A-Z0-9_]*$")

Issue = dict[str, Any]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as sent, still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: Any  # parsed JSON (None when there was none or it was not JSON); LWA: the form as a dict
    status: int  # what the fake answered


@dataclass(frozen=True)
class StoredListing:
    sku: str
    marketplace_id: str
    product_type: str
    requirements: str
    attributes: dict[str, Any]
    submission_id: str
    asin: str
    created: str
    updated: str

    def value(self, attribute: str, key: str = "value") -> Any:
        """The first object's `key` of an attribute (None when absent): item_name's text, and so on."""
        values = self.attributes.get(attribute) or [{}]
        return values[0].get(key)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class TokenBucket:
    """Amazon's rate limit for one operation: `per_second` refill, `burst` capacity; no waiting, a
    request over it is refused."""

    def __init__(self, per_second: float, burst: int, clock: Callable[[], float]) -> None:
        self.per_second, self.burst, self._clock = per_second, burst, clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.per_second)
            self._last = now
            # A client pacing itself at exactly the rate lands on 0.999...: float error, not a burst.
            if self._tokens < 1.0 - 1e-6:
                return False
            self._tokens = max(self._tokens - 1.0, 0.0)
            return True


class FakeAmazon(LoopbackServer):
    """The fake server; a context manager (or `start()` / `stop()`)."""

    def __init__(
        self,
        seller_id: str = DEFAULT_SELLER_ID,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        *,
        token_lifetime_seconds: int = 3600,
        requests_per_second: float = 5.0,
        burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seller_id = seller_id
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.token_lifetime_seconds = token_lifetime_seconds
        self.requests_per_second = requests_per_second
        self._clock = clock
        self._buckets = {name: TokenBucket(requests_per_second, burst, clock) for name in OPERATIONS.values()}
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # access token -> when it expires (on `clock`)
        self._listings: dict[tuple[str, str], StoredListing] = {}
        self._failures: deque[int] = deque()
        self._requests: list[RecordedRequest] = []
        self._token_requests: list[RecordedRequest] = []

    # -- lifecycle ----------------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def base_url(self) -> str:
        """The SP-API endpoint to configure (api_url)."""
        return self.server_url

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    # -- scripting and inspection -------------------------------------------------------------------

    def fail_next(self, status: int = 500, *, times: int = 1) -> FakeAmazon:
        """Answer the next `times` SP-API requests with `status` and Amazon's body for it (429:
        QuotaExceeded; 5xx: InternalFailure / ServiceUnavailable), before checking anything else."""
        with self._lock:
            self._failures.extend([status] * times)
        return self

    def throttle_next(self, *, times: int = 1) -> FakeAmazon:
        return self.fail_next(429, times=times)

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired from now on (LWA tokens can be revoked early)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, float("-inf"))

    @property
    def listings(self) -> dict[tuple[str, str], StoredListing]:
        """The stored listings by (SKU, marketplace id); copies."""
        with self._lock:
            return {
                key: replace(item, attributes=copy.deepcopy(item.attributes))
                for key, item in self._listings.items()
            }

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def token_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._token_requests)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            (self._token_requests if request.path == TOKEN_PATH else self._requests).append(request)

    # -- Login with Amazon --------------------------------------------------------------------------

    def answer_token(self, content_type: str, form: Mapping[str, str]) -> Answer:
        """LWA's answer to a token request (`form`: its body read as a form)."""
        refused = _lwa_refusal(content_type, form, self.client_id, self.client_secret, self.refresh_token)
        if refused is not None:
            return refused
        token = "Atza|" + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = self._clock() + self.token_lifetime_seconds
        body = {
            "access_token": token,
            "refresh_token": self.refresh_token,
            "token_type": "bearer",
            "expires_in": self.token_lifetime_seconds,
        }
        return Answer(200, body)

    # -- SP-API -------------------------------------------------------------------------------------

    def answer_items(
        self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str], body: Any
    ) -> Answer:
        """The answer to one Listings Items request, checks in Amazon's order: auth, path, throttle,
        parameters, body."""
        with self._lock:
            scripted = self._failures.popleft() if self._failures else None
        if scripted is not None:
            return self._scripted(scripted)
        denied = self._token_refusal(headers.get("x-amz-access-token"))
        if denied is not None:
            return denied
        parts = path[len(ITEMS_PREFIX) :].split("/")
        if len(parts) != 2 or not all(parts):
            return _sp_error(404, "NotFound", "Resource not found.")
        seller_id, sku = unquote(parts[0]), unquote(parts[1])
        if seller_id != self.seller_id:
            return _sp_error(403, "Unauthorized", "Access to requested resource is denied.", "")
        if not self._buckets[OPERATIONS[method]].take():
            return self._throttled()
        problem = _parameter_problem(method, query)
        if problem is not None:
            return _sp_error(400, "InvalidInput", problem)
        marketplace_id = query["marketplaceIds"][0]
        included = _included(method, query)
        if method == "PUT":
            return self._put(sku, marketplace_id, query, body, included)
        if method == "PATCH":
            return self._patch(sku, marketplace_id, query, body, included)
        if method == "DELETE":
            return self._delete(sku, marketplace_id)
        return self._get(sku, marketplace_id, included)

    def _token_refusal(self, token: str | None) -> Answer | None:
        with self._lock:
            expires = self._tokens.get(token) if token else None
            now = self._clock()
        if expires is None:
            details = "The access token you provided is revoked, malformed or invalid."
        elif now >= expires:
            details = "The access token you provided has expired."
        else:
            return None
        return _sp_error(403, "Unauthorized", "Access to requested resource is denied.", details)

    def _put(
        self,
        sku: str,
        marketplace_id: str,
        query: Mapping[str, list[str]],
        body: Any,
        included: frozenset[str],
    ) -> Answer:
        problem = _put_body_problem(body)
        if problem is not None:
            return _sp_error(400, "InvalidInput", problem)
        requirements = body.get("requirements") or "LISTING"
        issues = validate_attributes(body["attributes"], requirements, marketplace_id)
        submission_id = uuid.uuid4().hex
        if _has_errors(issues):
            status = "INVALID"
        elif query.get("mode"):
            status = "VALID"  # a preview: validated, nothing stored
        else:
            status = "ACCEPTED"
            self._store(
                sku, marketplace_id, body["productType"], requirements, body["attributes"], submission_id
            )
        return self._submission(sku, marketplace_id, status, submission_id, issues, included)

    def _patch(
        self,
        sku: str,
        marketplace_id: str,
        query: Mapping[str, list[str]],
        body: Any,
        included: frozenset[str],
    ) -> Answer:
        problem = _patch_body_problem(body)
        if problem is not None:
            return _sp_error(400, "InvalidInput", problem)
        with self._lock:
            stored = self._listings.get((sku, marketplace_id))
        if stored is None:
            return _sp_error(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {marketplace_id}.")
        attributes = apply_patches(stored.attributes, body["patches"])
        issues = validate_attributes(attributes, stored.requirements, marketplace_id)
        submission_id = uuid.uuid4().hex
        if _has_errors(issues):
            status = "INVALID"
        elif query.get("mode"):
            status = "VALID"
        else:
            status = "ACCEPTED"
            self._store(
                sku, marketplace_id, body["productType"], stored.requirements, attributes, submission_id
            )
        return self._submission(sku, marketplace_id, status, submission_id, issues, included)

    def _delete(self, sku: str, marketplace_id: str) -> Answer:
        with self._lock:
            removed = self._listings.pop((sku, marketplace_id), None)
        if removed is None:
            return _sp_error(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {marketplace_id}.")
        return self._answer(
            200, {"sku": sku, "status": "ACCEPTED", "submissionId": uuid.uuid4().hex, "issues": []}
        )

    def _get(self, sku: str, marketplace_id: str, included: frozenset[str]) -> Answer:
        with self._lock:
            stored = self._listings.get((sku, marketplace_id))
        if stored is None:
            return _sp_error(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {marketplace_id}.")
        return self._answer(200, listing_view(stored, included))

    def _store(
        self,
        sku: str,
        marketplace_id: str,
        product_type: str,
        requirements: str,
        attributes: dict[str, Any],
        submission_id: str,
    ) -> None:
        """Keep the listing by (SKU, marketplace): Amazon's key, so a second PUT replaces the first."""
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        key = (sku, marketplace_id)
        with self._lock:
            earlier = self._listings.get(key)
            self._listings[key] = StoredListing(
                sku=sku,
                marketplace_id=marketplace_id,
                product_type=product_type,
                requirements=requirements,
                attributes=copy.deepcopy(attributes),
                submission_id=submission_id,
                asin=earlier.asin if earlier else _asin(sku, marketplace_id),
                created=earlier.created if earlier else now,
                updated=now,
            )

    def _submission(
        self,
        sku: str,
        marketplace_id: str,
        status: str,
        submission_id: str,
        issues: list[Issue],
        included: frozenset[str],
    ) -> Answer:
        body: dict[str, Any] = {"sku": sku, "status": status, "submissionId": submission_id}
        if "issues" in included:
            body["issues"] = issues
        if "identifiers" in included and status == "ACCEPTED":
            body["identifiers"] = [{"marketplaceId": marketplace_id, "asin": _asin(sku, marketplace_id)}]
        return self._answer(200, body)

    def _answer(self, status: int, body: Any) -> Answer:
        return Answer(status, body, {"x-amzn-RateLimit-Limit": str(float(self.requests_per_second))})

    def _throttled(self) -> Answer:
        body = _sp_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.", "").body
        return self._answer(429, body)

    def _scripted(self, status: int) -> Answer:
        if status == 429:
            return self._throttled()
        if status == 503:
            return _sp_error(503, "ServiceUnavailable", "Service temporarily unavailable. Please try again.")
        if status >= 500:
            return _sp_error(status, "InternalFailure", "We encountered an internal error. Please try again.")
        if status == 403:
            return _sp_error(403, "Unauthorized", "Access to requested resource is denied.", "")
        if status == 404:
            return _sp_error(404, "NOT_FOUND", "Resource not found.")
        return _sp_error(
            status, "InvalidInput", "Request has missing or invalid parameters and cannot be parsed."
        )


# -- requests' shape -----------------------------------------------------------------------------------


def _parameter_problem(method: str, query: Mapping[str, list[str]]) -> str | None:
    """What is wrong with the query parameters, in the words of an InvalidInput error; None when fine."""
    marketplaces = query.get("marketplaceIds") or []
    if not marketplaces:
        return "Missing required parameter 'marketplaceIds'."
    if len(marketplaces) != 1 or "," in marketplaces[0]:
        return "Only one marketplace identifier is supported per request."
    if marketplaces[0] not in MARKETPLACES:
        return f"Invalid marketplace identifier: {marketplaces[0]}."
    modes = query.get("mode") or []
    if modes and (method not in ("PUT", "PATCH") or modes != ["VALIDATION_PREVIEW"]):
        return f"Invalid value for parameter 'mode': {', '.join(modes)}."
    unknown = {value for raw in query.get("includedData", []) for value in raw.split(",")} - INCLUDED_DATA[
        method
    ]
    if unknown:
        return f"Invalid value for parameter 'includedData': {', '.join(sorted(unknown))}."
    return None


def _included(method: str, query: Mapping[str, list[str]]) -> frozenset[str]:
    raw = ",".join(query.get("includedData") or [DEFAULT_INCLUDED[method]])
    return frozenset(value for value in raw.split(",") if value)


def _put_body_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Request body is not a valid JSON object."
    product_type = body.get("productType")
    if not isinstance(product_type, str) or not _PRODUCT_TYPE.match(product_type):
        return "Request has missing or invalid 'productType'."
    if body.get("requirements", "LISTING") not in REQUIREMENTS:
        return f"Invalid value for 'requirements': {body.get('requirements')}."
    if not isinstance(body.get("attributes"), dict):
        return "Request has missing or invalid 'attributes'."
    return None


def _patch_body_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Request body is not a valid JSON object."
    product_type = body.get("productType")
    if not isinstance(product_type, str) or not _PRODUCT_TYPE.match(product_type):
        return "Request has missing or invalid 'productType'."
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        return "Request has missing or invalid 'patches'."
    for patch in patches:
        if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "delete", "merge"):
            return "Each patch needs an 'op' of add, replace, merge or delete."
        path = patch.get("path")
        if not isinstance(path, str) or not path.startswith("/attributes/") or path.count("/") != 2:
            return (
                f"Invalid patch path {path!r}: only top-level attributes (/attributes/<name>) can be patched."
            )
        if patch["op"] != "delete" and not isinstance(patch.get("value"), list):
            return f"The patch of {path} needs a 'value' array."
    return None


def apply_patches(attributes: Mapping[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    """The attributes after the patches (JSON Patch on top-level attributes only, as Amazon allows)."""
    patched = copy.deepcopy(dict(attributes))
    for patch in patches:
        name = patch["path"].split("/")[2]
        if patch["op"] == "delete":
            patched.pop(name, None)
        else:
            patched[name] = copy.deepcopy(patch["value"])
    return patched


# -- attributes' validation ------------------------------------------------------------------------------


def validate_attributes(attributes: Mapping[str, Any], requirements: str, marketplace_id: str) -> list[Issue]:
    """The issues Amazon's synchronous validation would give (see the module's docstring)."""
    market = MARKETPLACES[marketplace_id]
    issues = [_missing(name) for name in REQUIREMENTS[requirements] if name not in attributes]
    if IDENTIFIER not in attributes and "merchant_suggested_asin" not in attributes:
        issues.append(_missing(IDENTIFIER))
    for name, values in attributes.items():
        shape = _shape_problem(name, values, marketplace_id)
        if shape is not None:
            issues.append(_invalid(name, shape))
            continue
        check = CHECKS.get(name) or (_check_image if "_image_locator" in name else None)
        if check is not None:
            issues.extend(check(name, values, market))
    return issues


def _shape_problem(name: str, values: Any, marketplace_id: str) -> str | None:
    """Every attribute is an array of objects for one marketplace."""
    if not isinstance(values, list) or not values or not all(isinstance(value, dict) for value in values):
        return f"The value for '{name}' must be a non-empty array of objects."
    if name in NO_MARKETPLACE_ID:
        return None
    for value in values:
        if "marketplace_id" not in value:
            return f"'marketplace_id' is required in every value of '{name}'."
        if value["marketplace_id"] != marketplace_id:
            return f"'{name}' is given for marketplace {value['marketplace_id']}, not {marketplace_id}."
    return None


def _check_text(name: str, values: list[dict[str, Any]], market: Marketplace) -> list[Issue]:
    issues = []
    for value in values:
        text = value.get("value")
        if not isinstance(text, str) or not text.strip():
            issues.append(_invalid(name, f"The value for '{name}' is empty."))
        elif name == "item_name" and len(text) > MAX_ITEM_NAME:
            message = f"'item_name' is {len(text)} characters long; at most {MAX_ITEM_NAME} are allowed."
            issues.append(_invalid(name, message))
        elif name == "product_description" and _HTML_TAG.search(text):
            message = "'product_description' contains HTML tags, which are not displayed."
            issues.append(_issue(HTML_WARNING_CODE, message, "WARNING", name, "INVALID_ATTRIBUTE"))
        tag = value.get("language_tag")
        if tag not in market.language_tags:
            message = (
                f"The language tag {tag!r} of '{name}' is not supported in marketplace {market.country}."
            )
            issues.append(_invalid(name, message))
    return issues


def _check_identifier(name: str, values: list[dict[str, Any]], market: Marketplace) -> list[Issue]:
    issues = []
    for value in values:
        kind, code = str(value.get("type")), value.get("value")
        lengths = IDENTIFIER_LENGTHS.get(kind)
        if lengths is None:
            issues.append(_invalid(name, f"The product identifier type '{kind}' is not supported."))
        elif not isinstance(code, str) or not code.isdigit() or len(code) not in lengths:
            digits = " or ".join(map(str, lengths))
            issues.append(_invalid(name, f"The {kind.upper()} {code!r} must have {digits} digits."))
        elif not gs1_check_digit_ok(code):
            issues.append(
                _invalid(name, f"The {kind.upper()} '{code}' is not valid: its check digit is wrong.")
            )
    return issues


def _check_condition(name: str, values: list[dict[str, Any]], market: Marketplace) -> list[Issue]:
    return [
        _invalid(name, f"{value.get('value')!r} is not a valid value for 'condition_type'.")
        for value in values
        if value.get("value") not in CONDITION_TYPES
    ]


def _check_offer(name: str, values: list[dict[str, Any]], market: Marketplace) -> list[Issue]:
    issues = []
    for value in values:
        currency = value.get("currency")
        if currency != market.currency:
            message = (
                f"The currency {currency!r} is not valid in marketplace {market.country}; "
                f"use '{market.currency}'."
            )
            issues.append(_invalid(name, message, "INVALID_PRICE"))
        prices = [
            entry.get("value_with_tax")
            for price in _objects(value.get("our_price"))
            for entry in _objects(price.get("schedule"))
        ]
        if not prices:
            issues.append(
                _issue(
                    MISSING_CODE, "'our_price' is required but not supplied.", "ERROR", name, "MISSING_PRICE"
                )
            )
        for price in prices:
            if not _is_number(price) or price <= 0:
                message = (
                    f"The price {price!r} is not valid: 'value_with_tax' must be a number greater than 0."
                )
                issues.append(_invalid(name, message, "INVALID_PRICE"))
    return issues


def _check_availability(name: str, values: list[dict[str, Any]], market: Marketplace) -> list[Issue]:
    issues = []
    for value in values:
        if not isinstance(value.get("fulfillment_channel_code"), str):
            issues.append(_missing_in(name, "fulfillment_channel_code"))
        quantity = value.get("quantity")
        if value.get("fulfillment_channel_code") == "DEFAULT" and not (_is_whole(quantity) and quantity >= 0):
            message = f"The quantity {quantity!r} is not valid: a whole number >= 0 is required."
            issues.append(_invalid(name, message))
    return issues


def _check_image(name: str, values: list[dict[str, Any]], market: Marketplace) -> list[Issue]:
    issues = []
    for value in values:
        url = value.get("media_location")
        if not isinstance(url, str) or not url.startswith("https://"):
            message = f"The image location {url!r} of '{name}' is not valid: an https URL is required."
            issues.append(_invalid(name, message, "INVALID_IMAGE"))
    return issues


Check = Callable[[str, list[dict[str, Any]], Marketplace], list[Issue]]
CHECKS: dict[str, Check] = {
    **dict.fromkeys(TEXT_ATTRIBUTES, _check_text),
    IDENTIFIER: _check_identifier,
    "condition_type": _check_condition,
    "purchasable_offer": _check_offer,
    "fulfillment_availability": _check_availability,
}


def gs1_check_digit_ok(code: str) -> bool:
    """The GS1 check digit (EAN-8/13, UPC-A, GTIN-14): weights 3 and 1 from the right, before the last."""
    digits = [int(char) for char in code]
    body, check = digits[:-1], digits[-1]
    total = sum(digit * (3 if position % 2 == 0 else 1) for position, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)  # JSON's true is no number


def _is_whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _has_errors(issues: list[Issue]) -> bool:
    return any(issue["severity"] == "ERROR" for issue in issues)


def _issue(code: str, message: str, severity: str, attribute: str, category: str) -> Issue:
    return {
        "code": code,
        "message": message,
        "severity": severity,
        "attributeNames": [attribute],
        "categories": [category],
    }


def _missing(name: str) -> Issue:
    category = (
        "MISSING_IMAGE"
        if "image" in name
        else "MISSING_PRICE"
        if name == "purchasable_offer"
        else "MISSING_ATTRIBUTE"
    )
    return _issue(MISSING_CODE, f"'{name}' is required but not supplied.", "ERROR", name, category)


def _missing_in(name: str, part: str) -> Issue:
    return _issue(
        MISSING_CODE,
        f"'{part}' is required in '{name}' but not supplied.",
        "ERROR",
        name,
        "MISSING_ATTRIBUTE",
    )


def _invalid(name: str, message: str, category: str = "INVALID_ATTRIBUTE") -> Issue:
    return _issue(INVALID_CODE, message, "ERROR", name, category)


# -- answers ---------------------------------------------------------------------------------------------


def listing_view(stored: StoredListing, included: frozenset[str]) -> dict[str, Any]:
    """getListingsItem's answer for the parts asked for."""
    view: dict[str, Any] = {"sku": stored.sku}
    if "summaries" in included:
        view["summaries"] = [
            {
                "marketplaceId": stored.marketplace_id,
                "asin": stored.asin,
                "productType": stored.product_type,
                "conditionType": stored.value("condition_type"),
                "status": ["BUYABLE", "DISCOVERABLE"],
                "itemName": stored.value("item_name"),
                "createdDate": stored.created,
                "lastUpdatedDate": stored.updated,
                "mainImage": {
                    "link": stored.value("main_product_image_locator", "media_location"),
                    "height": 1000,
                    "width": 1000,
                },
            }
        ]
    if "attributes" in included:
        view["attributes"] = copy.deepcopy(stored.attributes)
    if "issues" in included:
        view["issues"] = []
    if "offers" in included:
        offer = (stored.attributes.get("purchasable_offer") or [{}])[0]
        price = next(
            (
                entry.get("value_with_tax")
                for p in _objects(offer.get("our_price"))
                for entry in _objects(p.get("schedule"))
            ),
            None,
        )
        view["offers"] = [
            {
                "marketplaceId": stored.marketplace_id,
                "offerType": "B2C",
                "price": {
                    "currencyCode": offer.get("currency"),
                    "amount": f"{price:.2f}" if _is_number(price) else None,
                },
            }
        ]
    if "fulfillmentAvailability" in included:
        view["fulfillmentAvailability"] = [
            {
                "fulfillmentChannelCode": value.get("fulfillment_channel_code"),
                "quantity": value.get("quantity"),
            }
            for value in _objects(stored.attributes.get("fulfillment_availability"))
        ]
    return view


def _asin(sku: str, marketplace_id: str) -> str:
    return "B0" + hashlib.sha256(f"{sku}|{marketplace_id}".encode()).hexdigest()[:8].upper()


def _lwa_refusal(
    content_type: str, form: Mapping[str, str], client_id: str, client_secret: str, refresh_token: str
) -> Answer | None:
    """LWA's error for a token request, checked in its order: the form, the client, the grant."""
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return _lwa_error(400, "invalid_request", "The request has an invalid parameter : Content-Type")
    for name in ("grant_type", "client_id", "client_secret"):
        if not form.get(name):
            return _lwa_error(400, "invalid_request", f"The request is missing a required parameter : {name}")
    if form["client_id"] != client_id or form["client_secret"] != client_secret:
        return _lwa_error(401, "invalid_client", "Client authentication failed")
    if form["grant_type"] != "refresh_token":
        description = "The authorization grant type is not supported by the authorization server"
        return _lwa_error(400, "unsupported_grant_type", description)
    if not form.get("refresh_token"):
        return _lwa_error(
            400, "invalid_request", "The request is missing a required parameter : refresh_token"
        )
    if form["refresh_token"] != refresh_token:
        return _lwa_error(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
    return None


def _sp_error(status: int, code: str, message: str, details: str = "") -> Answer:
    return Answer(status, {"errors": [{"code": code, "message": message, "details": details}]})


def _lwa_error(status: int, error: str, description: str) -> Answer:
    return Answer(status, {"error_description": description, "error": error})


class _Handler(FakeHandler):
    server_fake: FakeAmazon
    protocol_version = "HTTP/1.0"

    def handle_request(self) -> None:
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in self.headers.items()}
        body: Any
        if parts.path == TOKEN_PATH and self.command == "POST":
            body = _form(raw)
            answer = fake.answer_token(headers.get("content-type", ""), body)
        elif parts.path.startswith(ITEMS_PREFIX) and self.command in OPERATIONS:
            body = _parsed(raw)
            answer = fake.answer_items(self.command, parts.path, query, headers, body)
        else:
            body = _parsed(raw)
            answer = _sp_error(404, "NotFound", "Resource not found.")
        fake.record(RecordedRequest(self.command, parts.path, query, headers, body, answer.status))
        self.send_json(answer.status, answer.body, {"x-amzn-RequestId": str(uuid.uuid4()), **answer.headers})


def _form(raw: bytes) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(raw.decode("utf-8", "replace")).items()}


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None

"""A fake Kaufland Seller API v2 on loopback: a real HTTP server that checks what Kaufland checks.

    with FakeKaufland() as fake:
        config = KauflandConfig(fake.client_key, fake.secret_key, api_url=fake.base_url)
        ...
        fake.products["4006381333931"]["de-DE"]["title"]   # our product data, by EAN and locale
        fake.units[100000001]["listing_price"]              # our units, by id_unit
        fake.requests[-1].headers["shop-signature"]         # every request as received
        fake.fail_next(500, times=2)                        # the next two requests fail
        fake.throttle_next(retry_after=3)                   # the next one is throttled

It imports nothing of the client: the signature is recomputed here, from the request as it arrived
(method, absolute URL with its query string, raw body bytes, Shop-Timestamp), with the fake's own copy
of the secret. Every request is recorded, refused ones included, with the status it got.

Checked, as the documentation says Kaufland does (sellerapi.kaufland.com: "Rest API", "Managing
Inventory", "Rate Limits", and the OpenAPI document 2.18.3):

* the headers every request must carry: Shop-Client-Key, Shop-Timestamp, Shop-Signature, User-Agent
  (401 when one is missing), Accept: application/json (406 otherwise), and Content-Type:
  application/json on a body (415 otherwise);
* a known client key; the HMAC-SHA256 signature of "METHOD\\nURL\\nBODY\\nTIMESTAMP"; a timestamp within
  `max_clock_skew_seconds` of the fake's clock (401 each);
* the rate limit, per account and across all endpoints: a token bucket of `requests_per_second` and
  `burst`; beyond it 429 `{"message": "Too Many Requests"}`;
* `PUT /product-data?locale=`: a known locale (de-DE, de-AT, cs-CZ, sk-SK, pl-PL), `ean` a non-empty
  list of valid GTIN-13s, `attributes.title` a non-empty list of non-empty strings, each `picture` an
  http(s) URL;
* `POST /units?storefront=`: a known storefront (de, at, sk, cz, pl), `ean` a valid GTIN-13,
  `id_offer` a non-empty string, `listing_price` an integer of 1 cent up to the storefront's
  maximum (1 million EUR, 4.5 million PLN, 25 million CZK), `amount` an integer ≥ 0, `condition` one
  of Kaufland's (NEW, USED___AS_NEW ... REFURBISHED___ACCEPTABLE), `handling_time` an integer 0-100
  (required), `note` at most 250 characters; an `id_offer` used by another unit of the storefront is
  refused (400, type `/problems/already-exists`: what finding a unit by its SKU before creating one
  avoids), and so is one used on another storefront for a different EAN or condition (400,
  `/problems/action-not-allowed`); the same product on two storefronts may share it;
* `GET /units?storefront=&id_offer=&ean=&limit=&offset=`: `{"data": [...], "pagination": {"offset",
  "limit", "total"}}`, at most 100 a page, a new unit only after `listing_delay_seconds` (Kaufland
  warns of a delay of minutes; 0 by default); `GET` and `PATCH /units/{id_unit}?storefront=`: 404 for
  a unit it does not have (or has on another storefront); PATCH changes only the fields given, which
  are checked as above;
* `GET /info/locale`, `GET /info/storefront`: `{"data": [...]}`.

Stricter than documented, to show a client's mistakes: a unit's EAN must have our product data first
(Kaufland processes product data asynchronously and may hold such a unit as INCOMPLETE instead), and
fields a request does not take (a `condition` in a PATCH) are refused rather than ignored.

From the documentation's shapes, not from observed traffic, so guessed: the wording of the messages,
the 401 (not 400) for a missing header, the 300 s tolerance of the timestamp (Kaufland does not
publish one), the `Retry-After` on a 429 (Kaufland does not promise one), 200 for a created unit (what
the OpenAPI document lists) and the problem types chosen from its ProblemType enum.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.loopback import FakeHandler, LoopbackServer

DEFAULT_CLIENT_KEY = "fake0kaufland0client0key00000001"  # 32 characters, as Kaufland's are
DEFAULT_SECRET_KEY = "fake0kaufland0secret0" + "0" * 43  # 64 characters

STOREFRONT_CURRENCIES = {"de": "EUR", "at": "EUR", "sk": "EUR", "cz": "CZK", "pl": "PLN"}
LOCALES = ("de-DE", "de-AT", "cs-CZ", "sk-SK", "pl-PL")
MAX_PRICE_CENTS = {"EUR": 100_000_000, "PLN": 450_000_000, "CZK": 2_500_000_000}
CONDITIONS = frozenset(
    {
        "NEW",
        "USED___AS_NEW",
        "USED___VERY_GOOD",
        "USED___GOOD",
        "USED___ACCEPTABLE",
        "REFURBISHED___AS_NEW",
        "REFURBISHED___VERY_GOOD",
        "REFURBISHED___GOOD",
        "REFURBISHED___ACCEPTABLE",
    }
)
# The fields each unit request takes (the OpenAPI document's UnitRequest and UnitPatchRequest).
UNIT_SETTINGS = frozenset(
    {"amount", "handling_time", "listing_price", "minimum_price", "note", "id_shipping_group", "id_warehouse"}
    | {"vat_indicator"}
)
CREATE_FIELDS = UNIT_SETTINGS | {"ean", "id_product", "id_offer", "condition"}
PATCH_FIELDS = UNIT_SETTINGS | {"status"}
PREFIX = "/v2"

Answer = tuple[int, dict[str, str], Any]  # status, extra headers, JSON body


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it, and the status it answered."""

    method: str
    url: str  # absolute, with the query string as sent: what the signature covers
    path: str  # without the query: /v2/units
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes  # raw, as signed
    status: int  # what the fake answered: the status,
    answer_headers: dict[str, str]  # the headers it added (Retry-After),
    answer: Any  # and the JSON body

    @property
    def json(self) -> Any:
        """The body parsed, or None when there is none or it is not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: float | None = None
    message: str | None = None


@dataclass
class _Bucket:
    tokens: float
    last: float


def gtin13_valid(code: object) -> bool:
    """13 digits whose last is the GS1 check digit (weights 1, 3, 1, 3... from the left)."""
    if not isinstance(code, str) or len(code) != 13 or not (code.isascii() and code.isdigit()):
        return False
    total = sum(int(digit) * (3 if i % 2 else 1) for i, digit in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def _signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """What the signature of this request must be: HMAC-SHA256 over the exact bytes received."""
    message = b"\n".join([method.encode(), url.encode(), body, timestamp.encode()])
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problem(status: int, kind: str, message: str, errors: list[dict[str, str]] | None = None) -> Answer:
    """An error as Kaufland shapes it (ErrorResponse: type, message, errors[field, message])."""
    return status, {}, {"type": f"/problems/{kind}", "message": message, "errors": errors or []}


def _invalid(errors: list[dict[str, str]]) -> Answer:
    return _problem(400, "validation-error", "Validation failed", errors)


def _error(field_name: str, message: str) -> dict[str, str]:
    return {"field": field_name, "message": message}


class FakeKaufland(LoopbackServer):
    """The fake server; a context manager (or `start()` / `stop()`)."""

    def __init__(
        self,
        client_key: str = DEFAULT_CLIENT_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        *,
        requests_per_second: float = 5.0,
        burst: int = 5,
        max_clock_skew_seconds: float = 300,
        listing_delay_seconds: float = 0,
    ) -> None:
        self.client_key = client_key
        self.secret_key = secret_key
        self.requests_per_second = requests_per_second
        self.burst = burst
        self.max_clock_skew_seconds = max_clock_skew_seconds
        # Kaufland: a new unit may take "up to several minutes" to show in GET /units.
        self.listing_delay_seconds = listing_delay_seconds
        self._clock: Callable[[], float] = time.time
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: deque[_Failure] = deque()
        self._bucket: _Bucket | None = None
        self._products: dict[str, dict[str, dict[str, Any]]] = {}
        self._product_ids: dict[str, int] = {}
        self._units: dict[int, dict[str, Any]] = {}
        self._listed_at: dict[int, float] = {}  # when GET /units starts to show each unit
        self._next_unit_id = 100_000_001

    # -- lifecycle ----------------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def base_url(self) -> str:
        """The API's base URL, as KauflandConfig.api_url takes it (ends in /v2)."""
        return self.server_url + PREFIX

    # -- scripting and inspection -------------------------------------------------------------------

    def fail_next(self, status: int = 500, times: int = 1, *, message: str | None = None) -> FakeKaufland:
        """Answer the next `times` signed requests (after those already scripted) with `status`."""
        with self._lock:
            self._failures.extend([_Failure(status, message=message)] * times)
        return self

    def throttle_next(self, times: int = 1, *, retry_after: float = 1.0) -> FakeKaufland:
        """Answer the next `times` signed requests with 429 and `Retry-After: retry_after`."""
        with self._lock:
            self._failures.extend([_Failure(429, retry_after=retry_after)] * times)
        return self

    def set_clock(self, clock: Callable[[], float]) -> FakeKaufland:
        """The fake's wall clock (unix seconds): timestamps are checked and the rate limit counted on it."""
        with self._lock:
            self._clock = clock
            self._bucket = None
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def products(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Our product data: EAN → locale → attributes."""
        with self._lock:
            return {
                ean: {loc: dict(attrs) for loc, attrs in by_locale.items()}
                for ean, by_locale in self._products.items()
            }

    @property
    def units(self) -> dict[int, dict[str, Any]]:
        """Our units by id_unit, as GET /units/{id_unit} would show them."""
        with self._lock:
            return {unit_id: dict(unit) for unit_id, unit in self._units.items()}

    # -- answering ----------------------------------------------------------------------------------

    def answer(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """The answer to one request (every request goes through here, and is recorded)."""
        parts = urlsplit(url)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            answer = self._answer(method, url, parts.path.rstrip("/") or "/", query, headers, body)
            status, extra, payload = answer
            self._requests.append(
                RecordedRequest(method, url, parts.path, query, dict(headers), body, status, extra, payload)
            )
        return answer

    def _answer(
        self, method: str, url: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        refused = self._check_headers(headers, body) or self._authenticate(method, url, headers, body)
        if refused is not None:
            return refused
        if self._failures:
            return self._scripted(self._failures.popleft())
        throttled = self._throttle()
        if throttled is not None:
            return throttled
        payload: Any = None
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                return _problem(400, "bad-request", "Request body is not valid JSON")
        return self._route(method, path, query, payload)

    def _check_headers(self, headers: Mapping[str, str], body: bytes) -> Answer | None:
        for name in ("shop-client-key", "shop-timestamp", "shop-signature", "user-agent"):
            if not headers.get(name, "").strip():
                return _problem(401, "missing-or-invalid-request-header", f"Missing request header: {name}")
        if "application/json" not in headers.get("accept", ""):
            return _problem(406, "missing-or-invalid-request-header", "Accept must be application/json")
        if body and not headers.get("content-type", "").startswith("application/json"):
            return _problem(415, "missing-or-invalid-request-header", "Content-Type must be application/json")
        return None

    def _authenticate(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Answer | None:
        # compare_digest takes str only when ASCII: bytes, so a stray header cannot crash the fake.
        if not hmac.compare_digest(headers["shop-client-key"].encode(), self.client_key.encode()):
            return _problem(401, "invalid-credentials", "Invalid client key")
        timestamp = headers["shop-timestamp"].strip()
        expected = _signature(self.secret_key, method, url, body, timestamp)
        if not hmac.compare_digest(headers["shop-signature"].strip().lower().encode(), expected.encode()):
            return _problem(401, "corrupted-signature", "Invalid signature")
        if not timestamp.isdigit():
            return _problem(401, "missing-or-invalid-request-header", "Shop-Timestamp must be unix seconds")
        skew = abs(self._clock() - int(timestamp))
        if skew > self.max_clock_skew_seconds:
            limit = self.max_clock_skew_seconds
            message = f"Shop-Timestamp is {skew:.0f} s away from the server's time (at most {limit:g} s)"
            return _problem(401, "unauthorized", message)
        return None

    def _scripted(self, failure: _Failure) -> Answer:
        if failure.status == 429:
            return self._too_many(f"{failure.retry_after or 1:g}")
        message = failure.message or (
            "Internal Server Error" if failure.status >= 500 else "Scripted failure"
        )
        kind = "server-error" if failure.status >= 500 else "bad-request"
        return _problem(failure.status, kind, message)

    def _throttle(self) -> Answer | None:
        """The account's token bucket: a request takes a token, or gets 429 with the wait for one."""
        now = self._clock()
        bucket = self._bucket or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.last) * self.requests_per_second)
        bucket.last = now
        self._bucket = bucket
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        # Retry-After in whole seconds, as HTTP writes it: the wait for the next token, rounded up.
        return self._too_many(str(max(1, math.ceil((1 - bucket.tokens) / self.requests_per_second))))

    @staticmethod
    def _too_many(retry_after: str) -> Answer:
        return 429, {"Retry-After": retry_after}, {"message": "Too Many Requests"}

    # -- the endpoints --------------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, str], payload: Any) -> Answer:
        if not path.startswith(PREFIX + "/"):
            return _problem(404, "not-found", f"No route for {path}")
        route = path.removeprefix(PREFIX)
        if route.startswith("/units/") and route.count("/") == 2:
            return self._one_unit(method, route.split("/")[2], query, payload)
        handlers: dict[tuple[str, str], Callable[[dict[str, str], Any], Answer]] = {
            ("GET", "/info/locale"): lambda _q, _p: (200, {}, {"data": list(LOCALES)}),
            ("GET", "/info/storefront"): lambda _q, _p: (200, {}, {"data": list(STOREFRONT_CURRENCIES)}),
            ("PUT", "/product-data"): self._put_product_data,
            ("GET", "/units"): self._list_units,
            ("POST", "/units"): self._create_unit,
        }
        handler = handlers.get((method, route))
        if handler is None:
            known = any(r == route for _, r in handlers)
            return _problem(405 if known else 404, "not-found", f"No route for {method} {path}")
        return handler(query, payload)

    def _put_product_data(self, query: dict[str, str], payload: Any) -> Answer:
        locale = query.get("locale", "")
        if locale not in LOCALES:
            return _invalid([_error("locale", f"must be one of {', '.join(LOCALES)}")])
        if not isinstance(payload, dict):
            return _invalid([_error("body", "must be a JSON object with ean and attributes")])
        errors = _product_data_errors(payload)
        if errors:
            return _invalid(errors)
        for ean in payload["ean"]:
            self._products.setdefault(ean, {})[locale] = dict(payload["attributes"])
            self._product_ids.setdefault(ean, 50_000_000 + len(self._product_ids) + 1)
        return 200, {}, {"data": {"ean": payload["ean"], "attributes": payload["attributes"]}}

    def _list_units(self, query: dict[str, str], _payload: Any) -> Answer:
        storefront = query.get("storefront", "")
        if storefront not in STOREFRONT_CURRENCIES:
            return _invalid([_error("storefront", f"must be one of {', '.join(STOREFRONT_CURRENCIES)}")])
        try:
            limit, offset = int(query.get("limit", "30")), int(query.get("offset", "0"))
        except ValueError:
            return _invalid([_error("limit", "limit and offset must be integers")])
        if not 1 <= limit <= 100 or offset < 0:
            return _invalid([_error("limit", "limit must be 1-100 and offset at least 0")])
        units = [
            dict(unit)
            for unit in self._units.values()
            if unit["storefront"] == storefront
            and self._listed_at[unit["id_unit"]] <= self._clock()
            and ("id_offer" not in query or unit["id_offer"] == query["id_offer"])
            and ("ean" not in query or unit["ean"] == query["ean"])
        ]
        pagination = {"offset": offset, "limit": limit, "total": len(units)}
        return 200, {}, {"data": units[offset : offset + limit], "pagination": pagination}

    def _create_unit(self, query: dict[str, str], payload: Any) -> Answer:
        storefront = query.get("storefront", "")
        if storefront not in STOREFRONT_CURRENCIES:
            return _invalid([_error("storefront", f"must be one of {', '.join(STOREFRONT_CURRENCIES)}")])
        if not isinstance(payload, dict):
            return _invalid([_error("body", "must be a JSON object")])
        errors = _unit_errors(payload, CREATE_FIELDS, STOREFRONT_CURRENCIES[storefront])
        errors += _new_unit_errors(payload, self._products)
        if errors:
            return _invalid(errors)
        clash = self._id_offer_clash(payload, storefront)
        if clash is not None:
            return clash
        unit = self._new_unit(payload, storefront)
        self._units[unit["id_unit"]] = unit
        self._listed_at[unit["id_unit"]] = self._clock() + self.listing_delay_seconds
        return 200, {}, {"data": dict(unit)}

    def _id_offer_clash(self, payload: dict[str, Any], storefront: str) -> Answer | None:
        """Why this id_offer may not be used (Kaufland: unique across the seller's inventory, except
        for the same product and condition on another storefront, where units are connected), or None."""
        id_offer, condition = payload["id_offer"], payload.get("condition", "NEW")
        for unit in self._units.values():
            if unit["id_offer"] != id_offer:
                continue
            if unit["storefront"] == storefront:
                message = f"A unit with id_offer {id_offer!r} already exists on storefront {storefront}"
                return _problem(400, "already-exists", message)
            if unit["ean"] != payload["ean"] or unit["condition"] != condition:
                message = f"id_offer {id_offer!r} is used by a unit with another EAN or condition"
                return _problem(400, "action-not-allowed", message)
        return None

    def _new_unit(self, payload: dict[str, Any], storefront: str) -> dict[str, Any]:
        unit_id = self._next_unit_id
        self._next_unit_id += 1
        stamp = self._iso_now()
        return {
            "id_unit": unit_id,
            "id_offer": payload["id_offer"],
            "id_product": self._product_ids[payload["ean"]],
            "ean": payload["ean"],
            "storefront": storefront,
            "currency": STOREFRONT_CURRENCIES[storefront],
            "condition": payload.get("condition", "NEW"),
            "listing_price": payload["listing_price"],
            "price": payload["listing_price"],
            "amount": payload.get("amount", 0),
            "handling_time": payload["handling_time"],
            "note": payload.get("note", ""),
            "status": "AVAILABLE",
            "fulfillment_type": "fulfilled_by_merchant",
            "date_inserted_iso": stamp,
            "date_lastchange_iso": stamp,
        }

    def _one_unit(self, method: str, raw_id: str, query: dict[str, str], payload: Any) -> Answer:
        storefront = query.get("storefront", "")
        if storefront not in STOREFRONT_CURRENCIES:
            return _invalid([_error("storefront", f"must be one of {', '.join(STOREFRONT_CURRENCIES)}")])
        unit = self._units.get(int(raw_id)) if raw_id.isdigit() else None
        if unit is None or unit["storefront"] != storefront:
            return _problem(404, "not-found", f"Unit {raw_id} not found")
        if method == "GET":
            return 200, {}, {"data": dict(unit)}
        if method != "PATCH":
            return _problem(405, "not-found", f"No route for {method} /units/{raw_id}")
        if not isinstance(payload, dict) or not payload:
            return _invalid([_error("body", "must be a JSON object with the fields to change")])
        errors = _unit_errors(payload, PATCH_FIELDS, unit["currency"])
        if errors:
            return _invalid(errors)
        unit.update(payload)
        unit["price"] = unit["listing_price"]
        unit["date_lastchange_iso"] = self._iso_now()
        return 200, {}, {"data": dict(unit)}

    def _iso_now(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")


# -- validation ---------------------------------------------------------------------------------------


def _product_data_errors(payload: Mapping[str, Any]) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    eans = payload.get("ean")
    if not isinstance(eans, list) or not eans:
        errors.append(_error("ean", "must be a non-empty list of EANs"))
    else:
        errors += [
            _error("ean", f"{ean!r} is not a valid EAN (GTIN-13)") for ean in eans if not gtin13_valid(ean)
        ]
    attributes = payload.get("attributes")
    if not isinstance(attributes, dict):
        return [*errors, _error("attributes", "must be an object of attribute lists")]
    titles = attributes.get("title")
    if (
        not isinstance(titles, list)
        or not titles
        or not all(isinstance(t, str) and t.strip() for t in titles)
    ):
        errors.append(_error("attributes.title", "is required: a list of non-empty strings"))
    for name, values in attributes.items():
        if not isinstance(values, list):
            errors.append(_error(f"attributes.{name}", "must be a list of values"))
    pictures = attributes.get("picture", [])
    if isinstance(pictures, list):
        errors += [
            _error("attributes.picture", f"{picture!r} is not an http(s) URL")
            for picture in pictures
            if not (isinstance(picture, str) and picture.startswith(("https://", "http://")))
        ]
    return errors


def _unit_errors(payload: Mapping[str, Any], allowed: frozenset[str], currency: str) -> list[dict[str, str]]:
    """The fields' own rules, for a new unit and for a change (only the fields given)."""
    errors = [_error(name, "is not a field of this request") for name in payload if name not in allowed]
    if "listing_price" in payload:
        price, ceiling = payload["listing_price"], MAX_PRICE_CENTS[currency]
        if not _is_int(price) or not 1 <= price <= ceiling:
            errors.append(_error("listing_price", f"must be an integer number of cents from 1 to {ceiling}"))
    if "amount" in payload and (not _is_int(payload["amount"]) or payload["amount"] < 0):
        errors.append(_error("amount", "must be an integer of at least 0"))
    if "handling_time" in payload:
        handling = payload["handling_time"]
        if not _is_int(handling) or not 0 <= handling <= 100:
            errors.append(_error("handling_time", "must be an integer from 0 to 100"))
    if "condition" in payload and payload["condition"] not in CONDITIONS:
        errors.append(_error("condition", f"must be one of {', '.join(sorted(CONDITIONS))}"))
    if "note" in payload and (not isinstance(payload["note"], str) or len(payload["note"]) > 250):
        errors.append(_error("note", "must be a string of at most 250 characters"))
    if "status" in payload and payload["status"] not in ("AVAILABLE", "ONHOLD"):
        errors.append(_error("status", "must be AVAILABLE or ONHOLD"))
    return errors


def _new_unit_errors(payload: Mapping[str, Any], products: Mapping[str, Any]) -> list[dict[str, str]]:
    """What a new unit needs besides its fields' rules: an EAN with product data, an id_offer, a price
    and a handling time."""
    errors = [
        _error(name, "is required") for name in ("listing_price", "handling_time") if name not in payload
    ]
    id_offer = payload.get("id_offer")
    if not isinstance(id_offer, str) or not id_offer.strip():
        errors.append(_error("id_offer", "is required: the seller's unique id of the offer"))
    ean = payload.get("ean")
    if not gtin13_valid(ean):
        errors.append(_error("ean", f"{ean!r} is not a valid EAN (GTIN-13)"))
    elif ean not in products:
        errors.append(_error("ean", f"no product data for EAN {ean}: send PUT /product-data first"))
    return errors


class _Handler(FakeHandler):
    server_fake: FakeKaufland
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API: the publish benchmark sends many

    def handle_request(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        # The URL the client signed: its Host header (HTTP/1.1 requires one) and the request target
        # exactly as sent, query string included.
        url = f"http://{self.headers.get('Host', '')}{self.path}"
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, extra, payload = self.server_fake.answer(self.command, url, headers, body)
        self.send_json(status, payload, extra, ensure_ascii=False)

"""The Kaufland client through real HTTP against the fake Kaufland server (no httpx mocks).

Time is one fake clock shared by the client (rate limit, retries, Shop-Timestamp) and the fake (its
timestamp check and rate limit): a wait is a step of the clock, so the tests neither sleep nor race.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devstack.fake_marketplaces.kaufland import FakeKaufland, RecordedRequest
from services.publishing.clients.base import CredentialsRefused, OutgoingListing, RetryPolicy
from services.publishing.clients.kaufland import (
    NO_EAN,
    KauflandClient,
    KauflandConfig,
    signature,
)

EAN = "4006381333931"
OTHER_EAN = "5901234123457"


class FakeTime:
    """Wall clock and monotonic clock in one; sleeping moves it on at once."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fake(clock):
    with FakeKaufland() as server:
        server.set_clock(clock.time)
        yield server


def make_client(fake, clock, *, secret=None, budget=30.0, per_second=5.0, burst=5) -> KauflandClient:
    config = KauflandConfig(
        fake.client_key,
        secret or fake.secret_key,
        api_url=fake.base_url,
        requests_per_second=per_second,
        burst=burst,
        retry=RetryPolicy(budget_seconds=budget, first_backoff_seconds=0.5, max_backoff_seconds=4.0),
    )
    return KauflandClient(config, sleep=clock.sleep, clock=clock.time, now=clock.time)


@pytest.fixture
def client(fake, clock):
    with make_client(fake, clock) as kaufland:
        yield kaufland


def listing(**changes: Any) -> OutgoingListing:
    base = OutgoingListing(
        product_id=1,
        marketplace="kaufland_de",
        sku="SKU-1",
        title="Sony WH-1000XM4 Kopfhörer kabellos schwarz mit ANC",
        description_html="<p>Kabellose Kopfhörer Sony WH-1000XM4 mit ANC.</p>",
        description_text="Kabellose Kopfhörer Sony WH-1000XM4 mit ANC.",
        bullet_points=("ANC", "Bluetooth 5.0"),
        brand="Sony",
        ean=EAN,
        images=("https://img.example.com/wh1000xm4.jpg",),
        price=Decimal("279.99"),
        currency="EUR",
        quantity=7,
        language="de",
        category=("Elektronik", "Kopfhörer"),
    )
    return replace(base, **changes)


class Remembered:
    """The `remember` callback: what the caller would have stored, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, item: OutgoingListing, ids) -> None:
        self.calls.append((item.sku, dict(ids)))


def calls(fake: FakeKaufland) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in fake.requests]


def signed_correctly(fake: FakeKaufland, request: RecordedRequest) -> bool:
    timestamp = request.headers["shop-timestamp"]
    expected = signature(fake.secret_key, request.method, request.url, request.body, timestamp)
    return request.headers["shop-signature"] == expected


def send_signed(fake, clock, method, path, *, params=None, body=None, timestamp=None, headers=None):
    """A request signed by hand, to talk to the fake without the client."""
    content = json.dumps(body).encode() if body is not None else None
    request = httpx.Request(method, fake.base_url + path, params=params, content=content)
    stamp = str(int(clock.time() if timestamp is None else timestamp))
    request.headers.update(
        {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "tests",
            "Shop-Client-Key": fake.client_key,
            "Shop-Timestamp": stamp,
            "Shop-Signature": signature(fake.secret_key, method, str(request.url), request.content, stamp),
            **(headers or {}),
        }
    )
    with httpx.Client() as http:
        return http.send(request)


# -- signing -------------------------------------------------------------------------------------------


def test_the_signature_is_kauflands_documented_example():
    # The "Rest API" page's example: POST /v2/units/, no body, at 1411055926, with its example secret.
    secret = "a7d0cb1da1ddbc86c96ee5fedd341b7d8ebfbb2f5c83cfe0909f4e57f05dd403"
    sent = signature(secret, "POST", "https://sellerapi.kaufland.com/v2/units/", "", 1411055926)
    assert sent == "da0b65f51c0716c1d3fa658b7eaf710583630a762a98c9af8e9b392bd9df2e2a"


def test_every_request_is_signed_and_the_fake_accepts_it(fake, clock, client):
    # A SKU with a space, a slash and an umlaut: the query is signed exactly as it is sent.
    (outcome,) = client.publish([listing(sku="WH 1000/XM4-ü")])

    assert outcome.outcome == "published", outcome.issues
    requests = fake.requests
    assert [r.status for r in requests] == [200, 200]
    client.publish([listing(sku="WH 1000/XM4-ü")])  # the id was not kept: a duplicate, then a lookup
    lookup = next(r for r in fake.requests if r.method == "GET")
    assert "id_offer=WH+1000%2FXM4-%C3%BC" in lookup.url  # as PHP's http_build_query writes it
    assert lookup.status == 200
    for request in requests:
        assert request.headers["shop-client-key"] == fake.client_key
        assert request.headers["shop-timestamp"] == str(int(clock.now))
        assert request.headers["user-agent"] == "listing-pipeline"
        assert request.headers["accept"] == "application/json"
        assert signed_correctly(fake, request)


# -- publishing --------------------------------------------------------------------------------------


def test_publish_sends_product_data_then_a_unit_priced_in_cents_and_remembers_its_id(fake, client):
    remembered = Remembered()

    (outcome,) = client.publish([listing()], remember=remembered)

    assert outcome.outcome == "published", outcome.issues
    assert calls(fake) == [("PUT", "/v2/product-data", 200), ("POST", "/v2/units", 200)]
    assert fake.requests[0].query == {"locale": "de-DE"}
    assert fake.products[EAN]["de-DE"] == {
        "title": ["Sony WH-1000XM4 Kopfhörer kabellos schwarz mit ANC"],
        "description": ["<p>Kabellose Kopfhörer Sony WH-1000XM4 mit ANC.</p>"],
        "picture": ["https://img.example.com/wh1000xm4.jpg"],
        "manufacturer": ["Sony"],
        "category": ["Elektronik > Kopfhörer"],
    }
    (unit,) = fake.units.values()
    assert unit["listing_price"] == 27999
    assert (unit["amount"], unit["handling_time"], unit["condition"]) == (7, 2, "NEW")
    assert (unit["id_offer"], unit["ean"], unit["storefront"], unit["currency"]) == (
        "SKU-1",
        EAN,
        "de",
        "EUR",
    )
    unit_id = str(unit["id_unit"])
    assert remembered.calls == [("SKU-1", {"unit_id": unit_id})]
    assert outcome.ids == {"sku": "SKU-1", "ean": EAN, "unit_id": unit_id}
    assert outcome.request["create_unit"]["body"]["listing_price"] == 27999


def test_a_polish_storefront_gets_polish_product_data_and_a_used_unit(fake, client):
    item = listing(marketplace="kaufland_pl", currency="PLN", language="pl", price=Decimal("1199"))

    (outcome,) = client.publish([replace(item, condition="used")])

    assert outcome.outcome == "published", outcome.issues
    assert set(fake.products[EAN]) == {"pl-PL"}
    (unit,) = fake.units.values()
    assert (unit["storefront"], unit["currency"], unit["listing_price"]) == ("pl", "PLN", 119900)
    assert unit["condition"] == "USED___GOOD"


def test_publishing_a_sku_again_updates_its_unit_through_the_remembered_id(fake, client):
    remembered = Remembered()
    client.publish([listing()], remember=remembered)
    ids = remembered.calls[0][1]

    (again,) = client.publish([listing(price=Decimal("249.00"), quantity=3, ids=ids)], remember=remembered)

    assert again.outcome == "published", again.issues
    assert calls(fake)[2:] == [
        ("PUT", "/v2/product-data", 200),
        ("PATCH", f"/v2/units/{ids['unit_id']}", 200),
    ]
    (unit,) = fake.units.values()
    assert (unit["listing_price"], unit["amount"]) == (24900, 3)
    assert len(remembered.calls) == 1  # the id was known: nothing new to store


def test_a_crash_before_the_unit_id_was_stored_still_leaves_one_unit(fake, client):
    first = Remembered()
    client.publish([listing()], remember=first)  # ...and the caller died before storing the id
    retry = Remembered()

    (outcome,) = client.publish([listing(quantity=5)], remember=retry)

    assert outcome.outcome == "published", outcome.issues
    (unit,) = fake.units.values()
    assert calls(fake)[2:] == [
        ("PUT", "/v2/product-data", 200),
        ("POST", "/v2/units", 400),  # Kaufland refuses the duplicate id_offer...
        ("GET", "/v2/units", 200),  # ...and it is found by its SKU
        ("PATCH", f"/v2/units/{unit['id_unit']}", 200),
    ]
    assert fake.requests[4].query == {"storefront": "de", "id_offer": "SKU-1"}
    assert retry.calls == first.calls  # the same unit id, found again
    assert unit["amount"] == 5


def test_a_remembered_unit_that_kaufland_no_longer_has_is_made_again(fake, client):
    remembered = Remembered()

    (outcome,) = client.publish([listing(ids={"unit_id": "999"})], remember=remembered)

    assert outcome.outcome == "published", outcome.issues
    assert [c[:2] for c in calls(fake)] == [
        ("PUT", "/v2/product-data"),
        ("PATCH", "/v2/units/999"),
        ("POST", "/v2/units"),
    ]
    (unit,) = fake.units.values()
    assert remembered.calls == [("SKU-1", {"unit_id": str(unit["id_unit"])})]


def test_a_unit_kaufland_does_not_list_yet_is_not_created_twice(clock):
    # Kaufland: a new unit may take minutes to show in GET /units. A retry in that window must not
    # make a second unit: Kaufland refuses the duplicate id_offer, and the listing is tried again later.
    with FakeKaufland(listing_delay_seconds=120) as fake, make_client(fake, clock) as client:
        fake.set_clock(clock.time)
        client.publish([listing()])  # the caller dies before storing the unit id

        (too_soon,) = client.publish([listing()])
        clock.sleep(120)
        (later,) = client.publish([listing(quantity=2)])

    assert too_soon.outcome == "failed"
    assert too_soon.retryable
    assert too_soon.issues[0] == "a unit with this SKU exists on Kaufland but is not listed yet"
    assert later.outcome == "published", later.issues
    (unit,) = fake.units.values()
    assert later.ids["unit_id"] == str(unit["id_unit"])
    assert unit["amount"] == 2


def test_one_sku_on_two_storefronts_is_two_connected_units(fake, client):
    outcomes = client.publish([listing(), listing(marketplace="kaufland_at")])

    assert [o.outcome for o in outcomes] == ["published", "published"]
    assert sorted((u["storefront"], u["id_offer"]) for u in fake.units.values()) == [
        ("at", "SKU-1"),
        ("de", "SKU-1"),
    ]
    assert set(fake.products[EAN]) == {"de-DE", "de-AT"}


@pytest.mark.parametrize(
    ("changes", "issue"),
    [
        ({"ean": None}, NO_EAN),
        ({"ean": "  "}, NO_EAN),
        ({"currency": "PLN"}, "price is in PLN; the de storefront sells in EUR"),
    ],
)
def test_what_must_not_be_sent_is_rejected_without_a_request(fake, client, changes, issue):
    (outcome,) = client.publish([listing(**changes)])

    assert (outcome.outcome, outcome.issues) == ("rejected", (issue,))
    assert fake.requests == []
    assert client.requests_sent == 0


def test_an_invalid_price_is_rejected_in_kauflands_words(fake, client):
    (outcome,) = client.publish([listing(price=Decimal("0.00"))])

    assert outcome.outcome == "rejected"
    assert not outcome.retryable
    assert outcome.issues == (
        "Validation failed",
        "listing_price: must be an integer number of cents from 1 to 100000000",
    )
    assert outcome.response["type"] == "/problems/validation-error"
    assert fake.units == {}


def test_a_wrong_secret_is_refused_not_retried_with_kauflands_message(fake, clock):
    with make_client(fake, clock, secret="0" * 64) as wrong:
        (outcome,) = wrong.publish([listing()])
        with pytest.raises(CredentialsRefused, match="Invalid signature"):
            wrong.check_credentials()

    assert outcome.outcome == "failed"
    assert not outcome.retryable
    assert outcome.issues == (
        "Kaufland refused the credentials or the signature (HTTP 401)",
        "Invalid signature",
    )
    assert [r.status for r in fake.requests] == [401, 401]  # one request each: a 401 is not retried
    assert fake.products == {}


def test_check_credentials_with_the_right_keys(fake, client):
    client.check_credentials()

    assert calls(fake) == [("GET", "/v2/info/storefront", 200)]


def test_a_listing_that_fails_does_not_stop_the_others(fake, client):
    outcomes = client.publish([listing(sku="A"), listing(sku="B", ean=None), listing(sku="C", ean=OTHER_EAN)])

    assert [o.outcome for o in outcomes] == ["published", "rejected", "published"]
    assert sorted(unit["id_offer"] for unit in fake.units.values()) == ["A", "C"]


# -- the fake's own checks ---------------------------------------------------------------------------


def test_the_fake_refuses_a_stale_timestamp_even_when_correctly_signed(fake, clock):
    fresh = send_signed(fake, clock, "GET", "/info/locale")
    stale = send_signed(fake, clock, "GET", "/info/locale", timestamp=clock.now - 301)

    assert fresh.status_code == 200
    assert "de-DE" in fresh.json()["data"]
    assert stale.status_code == 401
    assert "Shop-Timestamp is 301 s away" in stale.json()["message"]


def test_the_fake_refuses_missing_headers_and_tampered_requests(fake, clock):
    no_agent = send_signed(fake, clock, "GET", "/info/locale", headers={"User-Agent": ""})
    tampered = send_signed(
        fake, clock, "GET", "/info/locale", headers={"Shop-Timestamp": str(int(clock.now) - 1)}
    )
    unknown = send_signed(fake, clock, "GET", "/info/locale", headers={"Shop-Client-Key": "someone-else"})

    assert (no_agent.status_code, no_agent.json()["message"]) == (401, "Missing request header: user-agent")
    assert (tampered.status_code, tampered.json()["message"]) == (401, "Invalid signature")
    assert (unknown.status_code, unknown.json()["message"]) == (401, "Invalid client key")


def test_the_fake_wants_product_data_before_a_unit_and_one_unit_per_id_offer(fake, clock):
    unit = {"ean": EAN, "id_offer": "SKU-1", "listing_price": 1999, "amount": 1, "handling_time": 1}
    product = {"ean": [EAN], "attributes": {"title": ["Kopfhörer"]}}
    params = {"storefront": "de"}

    early = send_signed(fake, clock, "POST", "/units", params=params, body=unit)
    send_signed(fake, clock, "PUT", "/product-data", params={"locale": "de-DE"}, body=product)
    created = send_signed(fake, clock, "POST", "/units", params=params, body=unit)
    clock.sleep(1)  # the fake's rate limit: 5 a second
    twice = send_signed(fake, clock, "POST", "/units", params=params, body=unit)
    found = send_signed(fake, clock, "GET", "/units", params={**params, "id_offer": "SKU-1"})

    assert early.status_code == 400
    assert early.json()["errors"] == [
        {"field": "ean", "message": f"no product data for EAN {EAN}: send PUT /product-data first"}
    ]
    assert created.status_code == 200
    assert (twice.status_code, twice.json()["type"]) == (400, "/problems/already-exists")
    assert [u["id_unit"] for u in found.json()["data"]] == [created.json()["data"]["id_unit"]]
    assert found.json()["pagination"] == {"offset": 0, "limit": 30, "total": 1}


def test_the_fake_patches_only_what_a_unit_change_takes(fake, clock, client):
    client.publish([listing()])
    (unit_id,) = fake.units
    params = {"storefront": "de"}

    condition = send_signed(
        fake, clock, "PATCH", f"/units/{unit_id}", params=params, body={"condition": "NEW"}
    )
    elsewhere = send_signed(
        fake, clock, "PATCH", f"/units/{unit_id}", params={"storefront": "pl"}, body={"amount": 1}
    )
    clock.sleep(1)
    unknown = send_signed(fake, clock, "PATCH", "/units/1", params=params, body={"amount": 1})

    assert condition.json()["errors"] == [{"field": "condition", "message": "is not a field of this request"}]
    assert (elsewhere.status_code, unknown.status_code) == (404, 404)


def test_the_fake_checks_product_data(fake, clock):
    bad = {"ean": ["4006381333932"], "attributes": {"title": [""], "picture": ["ftp://x/y.jpg"]}}

    answer = send_signed(fake, clock, "PUT", "/product-data", params={"locale": "de-DE"}, body=bad)

    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == ["ean", "attributes.title", "attributes.picture"]


# -- throttling and retries ----------------------------------------------------------------------------


def test_a_429_is_waited_out_as_retry_after_says_and_every_attempt_is_signed_afresh(fake, clock, client):
    fake.throttle_next(2, retry_after=3)

    (outcome,) = client.publish([listing()])

    assert outcome.outcome == "published", outcome.issues
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert [r.status for r in puts] == [429, 429, 200]
    assert puts[0].json == puts[2].json  # the same body...
    stamps = [int(r.headers["shop-timestamp"]) for r in puts]
    assert stamps == [stamps[0], stamps[0] + 3, stamps[0] + 6]  # ...at a fresh timestamp each time
    assert len({r.headers["shop-signature"] for r in puts}) == 3
    assert all(signed_correctly(fake, r) for r in puts)
    assert clock.slept == [3.0, 3.0]
    assert client.requests_sent == 4


def test_the_fakes_rate_limit_throttles_a_client_that_sends_too_fast(fake, clock):
    with make_client(fake, clock, per_second=1000, burst=1000) as hasty:
        outcomes = hasty.publish([listing(sku=f"SKU-{i}") for i in range(3)])

    assert [o.outcome for o in outcomes] == ["published"] * 3
    throttled = [r for r in fake.requests if r.status == 429]
    assert throttled  # 6 calls against a burst of 5, all at once
    assert throttled[0].answer == {"message": "Too Many Requests"}
    assert throttled[0].answer_headers == {"Retry-After": "1"}
    assert clock.slept  # waited as Retry-After said
    assert len(fake.units) == 3


def test_a_5xx_for_a_while_then_success(fake, clock, client):
    fake.fail_next(500, times=2).fail_next(503)

    (outcome,) = client.publish([listing()])

    assert outcome.outcome == "published", outcome.issues
    assert [r.status for r in fake.requests] == [500, 500, 503, 200, 200]
    assert clock.slept == [0.5, 1.0, 2.0]  # the backoff doubles


def test_still_failing_after_the_budget_is_a_retryable_failure(fake, clock):
    fake.fail_next(503, times=50)
    with make_client(fake, clock, budget=3.0) as impatient:
        (outcome,) = impatient.publish([listing()])

    assert outcome.outcome == "failed"
    assert outcome.retryable
    assert outcome.issues == ("Kaufland: HTTP 503, still after 3 s of retries",)
    assert sum(clock.slept) <= 3.0
    assert fake.units == {}


# -- updates and previews ------------------------------------------------------------------------------


def test_update_offers_patches_only_the_price_and_the_amount(fake, client):
    remembered = Remembered()
    client.publish([listing()], remember=remembered)
    ids = remembered.calls[0][1]
    before = len(fake.requests)

    (outcome,) = client.update_offers(
        [listing(price=Decimal("259.50"), quantity=0, handling_time_days=9, ids=ids)]
    )

    assert outcome.outcome == "updated", outcome.issues
    (patch,) = fake.requests[before:]
    assert (patch.method, patch.path, patch.query) == (
        "PATCH",
        f"/v2/units/{ids['unit_id']}",
        {"storefront": "de"},
    )
    assert patch.json == {"listing_price": 25950, "amount": 0}
    (unit,) = fake.units.values()
    assert (unit["listing_price"], unit["amount"], unit["handling_time"]) == (25950, 0, 2)
    assert outcome.ids == {"sku": "SKU-1", "ean": EAN, "unit_id": ids["unit_id"]}


def test_update_offers_of_an_unpublished_listing_fails_without_a_request(fake, client):
    (outcome,) = client.update_offers([listing()])

    assert (outcome.outcome, outcome.issues) == ("failed", ("not published yet: no Kaufland unit id",))
    assert fake.requests == []


def test_a_preview_sends_nothing_and_says_what_kaufland_would_refuse(fake, client):
    good, long_title, bad = client.publish(
        [
            listing(),
            listing(title="Sony WH-1000XM4 " + "kabellose Over-Ear Kopfhörer " * 3),
            listing(
                ean="4006381333932", images=("http://img.example.com/a.jpg",), price=Decimal(0), title=""
            ),
        ],
        preview=True,
    )

    assert (good.outcome, good.issues) == ("valid", ())
    assert good.request["unit"]["listing_price"] == 27999
    assert long_title.outcome == "valid"
    assert long_title.issues == ("title is 102 characters; Kaufland recommends 50-80",)
    assert bad.outcome == "rejected"
    assert bad.issues == (
        "EAN 4006381333932 is not a valid GTIN-13 (check digit should be 1)",
        "Kaufland needs a title",
        "Kaufland needs at least one picture at an https URL",
        "price 0 EUR is not above 0",
    )
    assert fake.requests == []
    assert client.requests_sent == 0

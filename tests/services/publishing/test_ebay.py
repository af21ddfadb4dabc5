"""The eBay client against the fake eBay (devstack.fake_marketplaces.ebay), over real HTTP: no mocks.

Time is injected (FakeTime): the client's rate limiter, retries and token expiry run on a clock that
only its own sleeps advance, so nothing here waits or depends on how fast the machine is. The fake
gets a rate limit high enough not to interfere, except where its own limit is the subject.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devstack.fake_marketplaces.ebay import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    OAUTH_PATH,
    FakeEbay,
    is_gtin,
)
from services.publishing.clients.base import CredentialsRefused, NotConfigured, OutgoingListing, RetryPolicy
from services.publishing.clients.ebay import EbayClient, is_gtin13

INVENTORY = "/sell/inventory/v1"


class FakeTime:
    """A clock that only `sleep` moves; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def ean13(n: int) -> str:
    body = f"400{n:09d}"
    total = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(body))
    return body + str((10 - total % 10) % 10)


def listing(n: int = 1, **overrides: Any) -> OutgoingListing:
    values: dict[str, Any] = {
        "product_id": n,
        "marketplace": "ebay_de",
        "sku": f"EBDE-{n:05d}",
        "title": f"Sony WH-1000XM4 Kopfhörer kabellos schwarz Nr. {n}",
        "description_html": "<p>Kabellose Kopfhörer mit ANC.</p>",
        "description_text": "Kabellose Kopfhörer mit ANC.",
        "bullet_points": (),
        "brand": "Sony",
        "ean": ean13(n),
        "images": (f"https://img.example.com/{n}/1.jpg", f"https://img.example.com/{n}/2.jpg"),
        "price": Decimal("19.99"),
        "currency": "EUR",
        "quantity": 3,
        "language": "de",
        "attributes": {"Farbe": "Schwarz"},
    }
    values.update(overrides)
    return OutgoingListing(**values)


def polish(n: int, **overrides: Any) -> OutgoingListing:
    return listing(n, marketplace="ebay_pl", sku=f"EBPL-{n:05d}", currency="PLN", language="pl", **overrides)


def with_ids(item: OutgoingListing, ids: Mapping[str, str]) -> OutgoingListing:
    values = {name: getattr(item, name) for name in OutgoingListing.__dataclass_fields__}
    return OutgoingListing(**{**values, "ids": ids})


def method_of(request) -> str:
    return f"{request.method} {request.path.removeprefix(INVENTORY)}"


@pytest.fixture
def fake():
    with FakeEbay(requests_per_second=1_000.0, burst=1_000) as server:
        yield server


@pytest.fixture
def clock():
    return FakeTime()


@pytest.fixture
def make_client(fake, clock):
    clients: list[EbayClient] = []

    def make(**overrides: Any) -> EbayClient:
        client = EbayClient(fake.ebay_config(**overrides), sleep=clock.sleep, clock=clock.clock)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def ebay(make_client):
    return make_client()


# -- publishing ---------------------------------------------------------------------------------------


def test_thirty_listings_are_published_with_six_bulk_requests(ebay, fake):
    listings = [listing(n) for n in range(30)]

    outcomes = ebay.publish(listings)

    assert [o.outcome for o in outcomes] == ["published"] * 30
    assert [o.sku for o in outcomes] == [item.sku for item in listings]
    calls = [method_of(r) for r in fake.api_requests]
    assert (
        calls
        == [
            "POST /bulk_create_or_replace_inventory_item",
            "POST /bulk_create_offer",
            "POST /bulk_publish_offer",
        ]
        * 2
    )
    assert [len(r.body["requests"]) for r in fake.api_requests] == [25, 25, 25, 5, 5, 5]
    assert ebay.requests_sent == 6
    assert ebay.token_requests == 1
    assert len(fake.token_requests) == 1
    offers = fake.offers
    assert len(offers) == 30
    for outcome in outcomes:
        offer = offers[outcome.ids["offer_id"]]
        assert (offer.sku, offer.status) == (outcome.sku, "PUBLISHED")
        assert outcome.ids == {"sku": outcome.sku, "offer_id": offer.offer_id, "listing_id": offer.listing_id}


def test_what_goes_to_ebay(ebay, fake):
    first = listing(1, attributes={"Farbe": "Schwarz", "ebay_category_id": "112529", "x" * 41: "dropped"})

    [outcome] = ebay.publish([first])

    assert outcome.outcome == "published"
    item = fake.inventory_items[first.sku]
    assert item == {
        "sku": first.sku,
        "locale": "de_DE",
        "product": {
            "title": first.title,
            "description": first.description_text,
            "aspects": {"Marke": ["Sony"], "Farbe": ["Schwarz"]},  # no ebay_ keys; none eBay would refuse
            "brand": "Sony",
            "ean": [first.ean],
            "imageUrls": list(first.images),
        },
        "condition": "NEW",
        "availability": {"shipToLocationAvailability": {"quantity": 3}},
    }
    offer = fake.offers[outcome.ids["offer_id"]]
    config = ebay.config
    assert offer.marketplace_id == "EBAY_DE"
    assert offer.format == "FIXED_PRICE"
    assert offer.body == {
        "availableQuantity": 3,
        "categoryId": "112529",
        "listingDescription": first.description_html,
        "listingPolicies": {
            "fulfillmentPolicyId": config.fulfillment_policy_id,
            "paymentPolicyId": config.payment_policy_id,
            "returnPolicyId": config.return_policy_id,
        },
        "pricingSummary": {"price": {"value": "19.99", "currency": "EUR"}},
        "merchantLocationKey": config.merchant_location_key,
    }
    headers = fake.api_requests[0].headers
    assert headers["content-language"] == "de-DE"
    assert headers["authorization"].startswith("Bearer v^1.1#")


def test_the_listings_own_category_wins(make_client, fake):
    ebay = make_client(category_id="")
    [outcome] = ebay.publish([listing(1, attributes={"ebay_category_id": "9355"})])

    assert outcome.outcome == "published"
    assert fake.offers[outcome.ids["offer_id"]].category_id == "9355"


def test_each_marketplace_goes_in_its_own_calls_and_language(ebay, fake):
    outcomes = ebay.publish([listing(1), polish(2), listing(3)])

    assert [o.outcome for o in outcomes] == ["published"] * 3
    inventory_calls = [
        r for r in fake.api_requests if r.path.endswith("bulk_create_or_replace_inventory_item")
    ]
    assert [(r.headers["content-language"], len(r.body["requests"])) for r in inventory_calls] == [
        ("de-DE", 2),
        ("pl-PL", 1),
    ]
    polish_item = fake.inventory_items["EBPL-00002"]
    assert polish_item["locale"] == "pl_PL"
    assert polish_item["product"]["aspects"]["Marka"] == ["Sony"]
    polish_offer = fake.offers[outcomes[1].ids["offer_id"]]
    assert (polish_offer.marketplace_id, polish_offer.currency) == ("EBAY_PL", "PLN")


def test_remember_gets_each_offer_id_before_anything_is_published(ebay, fake):
    events = []

    def remember(item, ids):
        published_yet = any(r.path.endswith("bulk_publish_offer") for r in fake.requests)
        events.append((item.sku, ids, published_yet))

    outcomes = ebay.publish([listing(n) for n in range(3)], remember=remember)

    assert [o.outcome for o in outcomes] == ["published"] * 3
    assert [(sku, ids) for sku, ids, _ in events] == [
        (o.sku, {"offer_id": o.ids["offer_id"]}) for o in outcomes
    ]
    assert not any(published_yet for *_, published_yet in events)


def test_a_stored_offer_id_is_reused_and_its_offer_brought_up_to_date(ebay, fake):
    stored: dict[str, str] = {}
    listings = [listing(n) for n in range(2)]
    first = ebay.publish(listings, remember=lambda item, ids: stored.update({item.sku: ids["offer_id"]}))
    before = len(fake.api_requests)

    again = [with_ids(item, {"offer_id": stored[item.sku]}) for item in listings]
    again[0] = with_ids(listing(0, price=Decimal("24.5"), title="Sony WH-1000XM4 neu"), again[0].ids)
    remembered = []
    second = ebay.publish(again, remember=lambda item, ids: remembered.append(ids))

    assert [o.outcome for o in second] == ["published"] * 2
    assert [o.ids for o in second] == [o.ids for o in first]  # same offers, same listings
    assert remembered == []
    calls = [method_of(r) for r in fake.api_requests[before:]]
    assert "POST /bulk_create_offer" not in calls
    assert "GET /offer" not in calls
    assert sorted(c for c in calls if c.startswith("PUT")) == sorted(
        f"PUT /offer/{i}" for i in stored.values()
    )
    assert len(fake.offers) == 2
    offer = fake.offers[stored[listings[0].sku]]
    assert offer.price == "24.50"
    assert fake.inventory_items[listings[0].sku]["product"]["title"] == "Sony WH-1000XM4 neu"


def test_a_crash_before_the_offer_id_was_stored_does_not_make_a_second_offer(ebay, fake):
    listings = [listing(n) for n in range(3)]

    def crash(item, ids):
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError, match="worker killed"):
        ebay.publish(listings, remember=crash)
    assert len(fake.offers) == 3  # eBay made them (one bulk call); none was stored, none published
    assert {o.status for o in fake.offers.values()} == {"UNPUBLISHED"}
    before = len(fake.api_requests)

    stored: dict[str, str] = {}
    outcomes = ebay.publish(listings, remember=lambda item, ids: stored.update({item.sku: ids["offer_id"]}))

    assert [o.outcome for o in outcomes] == ["published"] * 3
    assert len(fake.offers) == 3
    assert stored == {offer.sku: offer.offer_id for offer in fake.offers.values()}
    calls = [method_of(r) for r in fake.api_requests[before:]]
    assert calls.count("GET /offer") == 3
    assert "POST /bulk_create_offer" not in calls
    assert {r.query["marketplace_id"] for r in fake.api_requests[before:] if r.method == "GET"} == {"EBAY_DE"}


def test_an_offer_ebay_says_exists_is_used_rather_than_duplicated(ebay, fake):
    # When the lookup is skipped (eBay answered 201, "created", for the inventory item), an offer made
    # earlier still surfaces: eBay's 25002 "Offer entity already exists" carries its id.
    first = listing(1)
    ebay.publish([first], remember=lambda item, ids: None)
    [offer] = fake.offers.values()
    with fake._lock:  # eBay forgetting the item but not its offer: only reachable by hand
        del fake._items[first.sku]

    remembered = []
    [outcome] = ebay.publish([first], remember=lambda item, ids: remembered.append(ids))

    assert outcome.outcome == "published"
    assert remembered == [{"offer_id": offer.offer_id}]
    assert list(fake.offers) == [offer.offer_id]
    assert f"PUT /offer/{offer.offer_id}" in [method_of(r) for r in fake.api_requests]


def test_an_offer_id_ebay_no_longer_knows_is_replaced(ebay, fake):
    remembered = []
    [outcome] = ebay.publish(
        [with_ids(listing(1), {"offer_id": "999"})], remember=lambda item, ids: remembered.append(ids)
    )

    assert outcome.outcome == "published"
    [offer] = fake.offers.values()
    assert remembered == [{"offer_id": offer.offer_id}]
    assert outcome.ids["offer_id"] == offer.offer_id


def test_a_listing_ebay_refuses_is_rejected_in_its_words_and_the_others_go_on(ebay, fake):
    bad_ean = ean13(2)[:-1] + str((int(ean13(2)[-1]) + 1) % 10)
    listings = [listing(1), listing(2, ean=bad_ean), listing(3, title="T" * 81), listing(4), listing(5)]
    fake.reject_publish(
        "EBDE-00004",
        25002,
        "A user error has occurred. The item cannot be listed or modified.",
        "The title and/or description may contain improper words, or the listing or seller may be in "
        "violation of eBay policy.",
    )

    outcomes = ebay.publish(listings)

    assert [o.outcome for o in outcomes] == ["published", "rejected", "rejected", "rejected", "published"]
    assert outcomes[1].issues == (f"25709: '{bad_ean}' is not a valid GTIN (check digit).",)
    assert outcomes[2].issues == ("25709: title has 81 characters; at most 80 are allowed.",)
    assert outcomes[3].issues == (
        "25002: The title and/or description may contain improper words, or the listing or seller may be in "
        "violation of eBay policy.",
    )
    assert outcomes[3].ids["offer_id"] in fake.offers  # kept: a retry reuses it
    assert outcomes[3].response["publish"]["statusCode"] == 400
    assert "offer_id" not in outcomes[1].ids
    assert ebay.requests_sent == 3


def test_publishing_needs_the_sellers_policies_and_location(make_client):
    ebay = make_client(fulfillment_policy_id="", merchant_location_key="unknown-place")

    [outcome] = ebay.publish([listing(1)])

    assert outcome.outcome == "rejected"
    assert outcome.issues == (
        "25007: listingPolicies.fulfillmentPolicyId is missing.",
        "25002: merchantLocationKey unknown-place is not a location.",
    )


# -- preview ------------------------------------------------------------------------------------------


def test_preview_sends_nothing_and_rejects_a_title_over_80_characters(ebay, fake):
    outcomes = ebay.publish([listing(1), listing(2, title="T" * 81)], preview=True)

    assert [o.outcome for o in outcomes] == ["valid", "rejected"]
    assert outcomes[1].issues == ("title has 81 characters; eBay allows 80",)
    assert outcomes[0].request["offer"]["pricingSummary"] == {"price": {"value": "19.99", "currency": "EUR"}}
    assert fake.requests == []
    assert (ebay.requests_sent, ebay.token_requests) == (0, 0)


@pytest.mark.parametrize(
    ("overrides", "issue"),
    [
        (
            {"ean": "4006381333932"},
            "EAN '4006381333932' is not a valid GTIN-13 (13 digits, the last a check digit)",
        ),
        ({"ean": "123"}, "EAN '123' is not a valid GTIN-13 (13 digits, the last a check digit)"),
        ({"images": ()}, "eBay needs 1 to 24 images (has 0)"),
        ({"images": tuple(f"https://i/{n}.jpg" for n in range(25))}, "eBay needs 1 to 24 images (has 25)"),
        (
            {"images": ("http://img.example.com/1.jpg",)},
            "image is not an https URL: http://img.example.com/1.jpg",
        ),
        ({"price": Decimal("0.00")}, "price must be above 0 (is 0.00)"),
        ({"quantity": 0}, "quantity must be at least 1 to publish (is 0)"),
        ({"brand": "Brand New"}, "brand 'Brand New' is a placeholder eBay refuses"),
        ({"brand": "See description"}, "brand 'See description' is a placeholder eBay refuses"),
        ({"brand": "B" * 66}, "brand has 66 characters; eBay allows 65"),
        ({"brand": "B" * 51}, "brand has 51 characters; eBay allows 50 in item specific 'Marke'"),
        ({"description_html": "", "description_text": ""}, "no description"),
        ({"sku": "S" * 51}, "SKU must have 1 to 50 characters (has 51)"),
    ],
)
def test_preview_names_what_ebay_would_refuse(ebay, fake, overrides, issue):
    [outcome] = ebay.publish([listing(1, **overrides)], preview=True)

    assert (outcome.outcome, outcome.issues) == ("rejected", (issue,))
    assert fake.requests == []


def test_preview_names_missing_settings(make_client):
    ebay = make_client(category_id="", payment_policy_id="", merchant_location_key="")

    [outcome] = ebay.publish([listing(1)], preview=True)

    assert outcome.issues == (
        "not configured: EBAY_CATEGORY_ID (or the listing's ebay_category_id)",
        "not configured: EBAY_PAYMENT_POLICY_ID",
        "not configured: EBAY_MERCHANT_LOCATION_KEY",
    )


def test_gtin13_check_digit():
    assert is_gtin13("4006381333931")
    assert not is_gtin13("4006381333932")
    assert not is_gtin13("400638133393")
    assert is_gtin("4006381333931")
    assert is_gtin("96385074")
    assert not is_gtin("96385075")


# -- the token ------------------------------------------------------------------------------------------


def test_the_token_is_kept_and_renewed_a_minute_before_it_expires(ebay, fake, clock):
    ebay.publish([listing(1)])
    ebay.publish([listing(2)])
    assert ebay.token_requests == 1

    clock.now += 7200 - 59
    [outcome] = ebay.publish([listing(3)])

    assert outcome.outcome == "published"
    assert ebay.token_requests == 2
    assert ebay.requests_sent == len(fake.api_requests)  # no request was refused and sent again
    form = fake.token_requests[-1].body
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": DEFAULT_REFRESH_TOKEN,
        "scope": "https://api.ebay.com/oauth/api_scope/sell.inventory",
    }
    basic = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
    assert fake.token_requests[-1].headers["authorization"] == f"Basic {basic}"


def test_a_token_ebay_refuses_is_renewed_once_and_the_request_sent_again(ebay, fake):
    ebay.publish([listing(1)])
    fake.expire_tokens()

    [outcome] = ebay.publish([listing(2)])

    assert outcome.outcome == "published"
    assert ebay.token_requests == 2
    refused, retried = fake.api_requests[3:5]
    assert method_of(refused) == method_of(retried) == "POST /bulk_create_or_replace_inventory_item"
    assert refused.headers["authorization"] != retried.headers["authorization"]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"client_secret": "wrong"}, "invalid_client: client authentication failed"),
        (
            {"refresh_token": "v^1.1#revoked"},
            "invalid_grant: the provided authorization refresh token is invalid",
        ),
    ],
)
def test_refused_credentials_fail_every_listing_for_good(make_client, fake, overrides, words):
    ebay = make_client(**overrides)

    with pytest.raises(CredentialsRefused, match=words):
        ebay.check_credentials()
    outcomes = ebay.publish([listing(1), listing(2)])

    assert [(o.outcome, o.retryable) for o in outcomes] == [("failed", False)] * 2
    assert words in outcomes[0].issues[0]
    assert fake.api_requests == []


def test_check_credentials_gets_a_token(ebay, fake):
    ebay.check_credentials()

    assert len(fake.token_requests) == 1


def test_missing_credentials_are_not_configured(fake):
    with pytest.raises(NotConfigured, match="EBAY_CLIENT_SECRET, EBAY_REFRESH_TOKEN"):
        EbayClient(fake.ebay_config(client_secret="", refresh_token=""))


# -- throttling and failures -------------------------------------------------------------------------


def test_a_429_is_waited_out(ebay, fake, clock):
    fake.throttle_next(2)
    fake.throttle_next(1, retry_after=3)

    [outcome] = ebay.publish([listing(1)])

    assert outcome.outcome == "published"
    assert clock.sleeps == [0.5, 1.0, 3.0]  # backoff, doubled, then eBay's hint
    assert ebay.requests_sent == 3 + 3


def test_the_fake_enforces_its_rate_limit():
    with FakeEbay(requests_per_second=0.001, burst=2) as slow:
        token = _token(slow)
        answers = [
            httpx.get(f"{slow.base_url}{INVENTORY}/offer/1", headers={"Authorization": f"Bearer {token}"})
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [404, 404, 429]
    assert answers[2].json()["errors"][0]["errorId"] == 2001


def test_server_errors_for_a_while_then_success(ebay, fake, clock):
    fake.fail_next(500, times=3)

    outcomes = ebay.publish([listing(1), listing(2)])

    assert [o.outcome for o in outcomes] == ["published"] * 2
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert ebay.requests_sent == 3 + 3


def test_server_errors_beyond_the_budget_fail_retryably(make_client, fake):
    ebay = make_client(
        retry=RetryPolicy(budget_seconds=5.0, first_backoff_seconds=0.5, max_backoff_seconds=2.0)
    )
    fake.fail_next(503, times=100)

    outcomes = ebay.publish([listing(1), listing(2)])

    assert [(o.outcome, o.retryable) for o in outcomes] == [("failed", True)] * 2
    assert outcomes[0].issues[0] == "HTTP 503, still after 5 s of retries"
    assert outcomes[0].issues[1].startswith("2003: There was a problem with an eBay internal system")
    assert ebay.requests_sent == 4  # 0.5 + 1 + 2 s of waiting fit in 5 s; the next 2 s do not


def test_a_failure_after_the_offer_keeps_its_id(make_client, fake):
    ebay = make_client(retry=RetryPolicy(budget_seconds=1.0))
    fake.fail_next(503, times=100, path_prefix=f"{INVENTORY}/bulk_publish_offer")
    remembered = []

    [outcome] = ebay.publish([listing(1)], remember=lambda item, ids: remembered.append(ids))

    assert (outcome.outcome, outcome.retryable) == ("failed", True)
    assert remembered == [{"offer_id": outcome.ids["offer_id"]}]


# -- price and quantity -------------------------------------------------------------------------------


def test_update_offers_changes_price_and_quantity_only(ebay, fake):
    stored: dict[str, str] = {}
    listings = [listing(1), listing(2), listing(5)]
    published = ebay.publish(listings, remember=lambda item, ids: stored.update({item.sku: ids["offer_id"]}))
    before = len(fake.api_requests)
    changed = [
        with_ids(listing(1, price=Decimal("17.49"), quantity=7, title="Ignored"), published[0].ids),
        with_ids(listing(2, price=Decimal("21"), quantity=0), published[1].ids),
        listing(3),  # never published
        with_ids(listing(4), {"offer_id": "999"}),  # not on eBay
        with_ids(listing(5), {"offer_id": "998"}),  # on eBay, but not this offer
    ]

    outcomes = ebay.update_offers(changed)

    assert [o.outcome for o in outcomes] == ["updated", "updated", "failed", "rejected", "rejected"]
    assert outcomes[0].ids == published[0].ids
    assert outcomes[2].issues == ("not published yet: no eBay offer id",)
    assert outcomes[3].issues == (
        "25702: SKU EBDE-00004 could not be found or is not available in the system.",
    )
    assert outcomes[4].issues == ("25713: This Offer is not available.",)
    assert [method_of(r) for r in fake.api_requests[before:]] == ["POST /bulk_update_price_quantity"]
    first, second = (fake.offers[stored[item.sku]] for item in listings[:2])
    assert (first.price, first.quantity, second.price, second.quantity) == ("17.49", 7, "21.00", 0)
    assert first.status == "PUBLISHED"
    item = fake.inventory_items["EBDE-00001"]
    assert item["product"]["title"] == listings[0].title
    assert item["availability"]["shipToLocationAvailability"]["quantity"] == 7


# -- the fake's own checks ----------------------------------------------------------------------------


def _token(fake: FakeEbay) -> str:
    basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
    answer = httpx.post(
        fake.base_url + OAUTH_PATH,
        data={"grant_type": "refresh_token", "refresh_token": fake.refresh_token},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "User Access Token"
    return str(answer.json()["access_token"])


def test_the_fake_checks_order_duplicates_and_headers(fake):
    api = httpx.Client(
        base_url=fake.base_url + INVENTORY, headers={"Authorization": f"Bearer {_token(fake)}"}
    )
    german = {"Content-Language": "de-DE"}
    offer = {
        "sku": "S1",
        "marketplaceId": "EBAY_DE",
        "format": "FIXED_PRICE",
        "pricingSummary": {"price": {"value": "5.00", "currency": "EUR"}},
    }
    item = {"sku": "S1", "product": {"title": "Kabel"}, "condition": "NEW"}
    with api:
        no_item = api.post("/bulk_create_offer", json={"requests": [offer]}, headers=german)
        no_language = api.post("/bulk_create_or_replace_inventory_item", json={"requests": [item]})
        too_many = api.post(
            "/bulk_create_or_replace_inventory_item", json={"requests": [item] * 26}, headers=german
        )
        created = api.post(
            "/bulk_create_or_replace_inventory_item", json={"requests": [item]}, headers=german
        )
        first = api.post("/bulk_create_offer", json={"requests": [offer]}, headers=german)
        second = api.post("/bulk_create_offer", json={"requests": [offer]}, headers=german)
        offer_id = first.json()["responses"][0]["offerId"]
        unpublishable = api.post("/bulk_publish_offer", json={"requests": [{"offerId": offer_id}]})
        bad_token = api.get("/offer", params={"sku": "S1"}, headers={"Authorization": "Bearer forged"})

    assert no_item.status_code == 207
    assert no_item.json()["responses"][0]["errors"][0]["errorId"] == 25702
    assert no_language.status_code == 400
    assert too_many.status_code == 400
    assert created.json()["responses"][0]["statusCode"] == 201
    assert first.status_code == 200
    [duplicate] = second.json()["responses"][0]["errors"]
    assert duplicate["errorId"] == 25002
    assert duplicate["message"] == "A user error has occurred. Offer entity already exists."
    assert duplicate["parameters"] == [{"name": "offerId", "value": offer_id}]
    errors = unpublishable.json()["responses"][0]["errors"]
    assert [e["errorId"] for e in errors] == [25017, 25014, 25005, 25007, 25008, 25009, 25002, 25004]
    assert bad_token.status_code == 401
    assert bad_token.json()["errors"][0]["message"] == "Invalid access token"

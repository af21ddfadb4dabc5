"""The Amazon SP-API client against the fake Amazon (Login with Amazon and Listings Items on loopback),
through httpx and real HTTP: nothing of the client is mocked.

Time is virtual: the client's rate limiter and backoff sleep on a clock that the fake's token buckets
and token expiry read too, so rate limits, retries and token lifetimes are exact and take no real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devstack.fake_marketplaces.amazon import FakeAmazon, gs1_check_digit_ok, validate_attributes
from services.publishing.clients.amazon import (
    MARKETPLACE_IDS,
    AmazonClient,
    AmazonConfig,
    item_path,
    listing_attributes,
)
from services.publishing.clients.base import CredentialsRefused, OutgoingListing, RetryPolicy

DE = MARKETPLACE_IDS["amazon_de"]
PL = MARKETPLACE_IDS["amazon_pl"]
EAN = "4006381333931"  # a real EAN-13 (its check digit is right)
MakeClient = Callable[..., AmazonClient]
FAST_RETRY = RetryPolicy(budget_seconds=5.0, first_backoff_seconds=0.05, max_backoff_seconds=0.4)


class VirtualTime:
    """A clock that moves only when someone sleeps on it (or a test advances it)."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.slept.append(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def outgoing(sku: str = "KETTLE-1", **changes: Any) -> OutgoingListing:
    fields: dict[str, Any] = {
        "product_id": 1,
        "marketplace": "amazon_de",
        "sku": sku,
        "title": "Bosch TWK3A011 Wasserkocher 1,7 l, Weiß",
        "description_html": "<p>Wasserkocher mit 1,7 l und 2400 W.</p>",
        "description_text": "Wasserkocher mit 1,7 l und 2400 W.",
        "bullet_points": ("1,7 l Fassungsvermögen", "2400 W"),
        "brand": "Bosch",
        "ean": EAN,
        "images": (
            "https://img.example.com/kettle-1.jpg",
            "https://img.example.com/kettle-2.jpg",
            "https://img.example.com/kettle-3.jpg",
        ),
        "price": Decimal("49.99"),
        "currency": "EUR",
        "quantity": 7,
        "language": "de",
    }
    fields.update(changes)
    return OutgoingListing(**fields)


def polish(sku: str = "KETTLE-1", **changes: Any) -> OutgoingListing:
    values: dict[str, Any] = {
        "marketplace": "amazon_pl",
        "title": "Czajnik elektryczny Bosch TWK3A011 1,7 l biały",
        "description_text": "Czajnik o pojemności 1,7 l i mocy 2400 W.",
        "bullet_points": ("Pojemność 1,7 l",),
        "price": Decimal("219.00"),
        "currency": "PLN",
        "language": "pl",
    }
    values.update(changes)
    return outgoing(sku, **values)


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def amazon(vtime: VirtualTime) -> Iterator[FakeAmazon]:
    with FakeAmazon(clock=vtime.clock) as fake:
        yield fake


@pytest.fixture
def make_client(amazon: FakeAmazon, vtime: VirtualTime) -> Iterator[MakeClient]:
    """Clients of the fake's account (`changes` override the config), on the virtual clock; closed after."""
    made: list[AmazonClient] = []

    def make(**changes: Any) -> AmazonClient:
        values: dict[str, Any] = {
            "seller_id": amazon.seller_id,
            "client_id": amazon.client_id,
            "client_secret": amazon.client_secret,
            "refresh_token": amazon.refresh_token,
            "api_url": amazon.base_url,
            "token_url": amazon.token_url,
            "retry": FAST_RETRY,
        }
        values.update(changes)
        made.append(AmazonClient(AmazonConfig(**values), sleep=vtime.sleep, clock=vtime.clock))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> AmazonClient:
    return make_client()


def statuses(amazon: FakeAmazon) -> list[int]:
    return [request.status for request in amazon.requests]


# -- publishing -------------------------------------------------------------------------------------------


def test_a_listing_is_accepted_with_the_attributes_amazon_reads(
    amazon: FakeAmazon, client: AmazonClient
) -> None:
    [outcome] = client.publish([outgoing()])

    stored = amazon.listings[("KETTLE-1", DE)]
    assert outcome.outcome == "published", outcome.issues
    assert outcome.ids == {"sku": "KETTLE-1", "submission_id": stored.submission_id}
    attributes = stored.attributes
    assert stored.product_type == "PRODUCT"
    assert stored.requirements == "LISTING"
    assert attributes["item_name"] == [
        {"value": "Bosch TWK3A011 Wasserkocher 1,7 l, Weiß", "language_tag": "de_DE", "marketplace_id": DE}
    ]
    assert stored.value("brand") == "Bosch"
    assert stored.value("product_description") == "Wasserkocher mit 1,7 l und 2400 W."
    assert [bullet["value"] for bullet in attributes["bullet_point"]] == ["1,7 l Fassungsvermögen", "2400 W"]
    assert attributes["externally_assigned_product_identifier"] == [
        {"type": "ean", "value": EAN, "marketplace_id": DE}
    ]
    assert attributes["condition_type"] == [{"value": "new_new", "marketplace_id": DE}]
    assert (
        stored.value("main_product_image_locator", "media_location") == "https://img.example.com/kettle-1.jpg"
    )
    assert (
        stored.value("other_product_image_locator_2", "media_location")
        == "https://img.example.com/kettle-3.jpg"
    )
    assert "other_product_image_locator_3" not in attributes
    assert attributes["purchasable_offer"] == [
        {"marketplace_id": DE, "currency": "EUR", "our_price": [{"schedule": [{"value_with_tax": 49.99}]}]}
    ]
    assert attributes["fulfillment_availability"][0]["quantity"] == 7

    [request] = amazon.requests
    assert request.method == "PUT"
    assert request.query == {"marketplaceIds": [DE], "includedData": ["issues"]}
    token = request.headers["x-amz-access-token"]
    assert token.startswith("Atza|")
    # What goes to the sync log: method, path and body, never the token.
    assert outcome.request["method"] == "PUT"
    assert (
        outcome.request["path"]
        == f"/listings/2021-08-01/items/A2SELLER/KETTLE-1?marketplaceIds={DE}&includedData=issues"
    )
    assert token not in repr(outcome)


def test_a_polish_listing_goes_to_amazon_pl_in_polish_and_zloty(
    amazon: FakeAmazon, client: AmazonClient
) -> None:
    [outcome] = client.publish([polish()])

    assert outcome.outcome == "published", outcome.issues
    stored = amazon.listings[("KETTLE-1", PL)]
    assert stored.attributes["item_name"][0]["language_tag"] == "pl_PL"
    assert stored.attributes["purchasable_offer"][0]["currency"] == "PLN"


def test_two_listings_share_one_token(amazon: FakeAmazon, client: AmazonClient) -> None:
    outcomes = client.publish([outgoing("KETTLE-1"), polish("KETTLE-2")])

    assert [o.outcome for o in outcomes] == ["published", "published"]
    assert len(amazon.token_requests) == 1
    assert client.token_requests == 1
    assert client.requests_sent == 2
    [form] = [request.body for request in amazon.token_requests]
    assert form["grant_type"] == "refresh_token"
    assert form["client_id"] == amazon.client_id
    assert len({request.headers["x-amz-access-token"] for request in amazon.requests}) == 1


def test_a_token_amazon_expired_early_is_replaced_once(amazon: FakeAmazon, client: AmazonClient) -> None:
    client.publish([outgoing("KETTLE-1")])
    amazon.expire_tokens()

    [outcome] = client.publish([outgoing("KETTLE-2")])

    assert outcome.outcome == "published", outcome.issues
    assert statuses(amazon) == [200, 403, 200]
    assert len(amazon.token_requests) == 2
    first, refused, retried = (request.headers["x-amz-access-token"] for request in amazon.requests)
    assert refused == first != retried


def test_a_token_is_renewed_a_minute_before_it_expires(
    amazon: FakeAmazon, client: AmazonClient, vtime: VirtualTime
) -> None:
    client.publish([outgoing("KETTLE-1")])
    vtime.advance(3600 - 61)
    client.publish([outgoing("KETTLE-2")])
    assert len(amazon.token_requests) == 1

    vtime.advance(2)  # 59 s left: renewed before it is sent, no 403 on the way
    client.publish([outgoing("KETTLE-3")])

    assert len(amazon.token_requests) == 2
    assert statuses(amazon) == [200, 200, 200]


def test_an_invalid_listing_is_rejected_in_amazons_words(amazon: FakeAmazon, client: AmazonClient) -> None:
    bad = outgoing(brand=None, ean="4006381333932", images=("http://img.example.com/kettle.jpg",))

    [outcome] = client.publish([bad])

    assert outcome.outcome == "rejected"
    assert not outcome.retryable
    assert "90220: 'brand' is required but not supplied. (brand)" in outcome.issues
    assert any(
        issue.startswith("4000001: ")
        and "check digit" in issue
        and issue.endswith("(externally_assigned_product_identifier)")
        for issue in outcome.issues
    )
    assert any("https" in issue and "(main_product_image_locator)" in issue for issue in outcome.issues)
    assert outcome.response["status"] == "INVALID"
    assert amazon.listings == {}


def test_a_listing_without_an_ean_leaves_the_identifier_out_and_amazon_asks_for_one(
    amazon: FakeAmazon, client: AmazonClient
) -> None:
    [outcome] = client.publish([outgoing(ean=None)])

    assert "externally_assigned_product_identifier" not in outcome.request["body"]["attributes"]
    assert outcome.outcome == "rejected"
    assert outcome.issues == (
        "90220: 'externally_assigned_product_identifier' is required but not supplied. "
        "(externally_assigned_product_identifier)",
    )


def test_a_price_in_the_wrong_currency_is_rejected(client: AmazonClient) -> None:
    [outcome] = client.publish([polish(currency="EUR")])

    assert outcome.outcome == "rejected"
    assert any("'PLN'" in issue and "(purchasable_offer)" in issue for issue in outcome.issues)


def test_a_warning_does_not_reject(amazon: FakeAmazon, client: AmazonClient) -> None:
    [outcome] = client.publish([outgoing(description_text="Wasserkocher <b>2400 W</b>")])

    assert outcome.outcome == "published"
    assert outcome.issues == ()
    assert [issue["severity"] for issue in outcome.response["issues"]] == ["WARNING"]
    assert ("KETTLE-1", DE) in amazon.listings


def test_a_preview_validates_and_lists_nothing(amazon: FakeAmazon, client: AmazonClient) -> None:
    outcomes = client.publish([outgoing("KETTLE-1"), outgoing("KETTLE-2", brand=None)], preview=True)

    assert [o.outcome for o in outcomes] == ["valid", "rejected"]
    assert outcomes[0].ids == {}
    assert [request.query["mode"] for request in amazon.requests] == [["VALIDATION_PREVIEW"]] * 2
    assert amazon.listings == {}


def test_the_same_sku_twice_is_one_listing_with_the_second_content(
    amazon: FakeAmazon, client: AmazonClient
) -> None:
    [first] = client.publish([outgoing()])
    asin = amazon.listings[("KETTLE-1", DE)].asin

    [second] = client.publish([outgoing(title="Bosch TWK3A011 Wasserkocher, Weiß")])

    assert first.outcome == second.outcome == "published"
    assert list(amazon.listings) == [("KETTLE-1", DE)]
    stored = amazon.listings[("KETTLE-1", DE)]
    assert stored.value("item_name") == "Bosch TWK3A011 Wasserkocher, Weiß"
    assert stored.asin == asin
    assert second.ids["submission_id"] != first.ids["submission_id"]


def test_a_sku_with_a_slash_space_and_umlaut_is_encoded_in_the_path(
    amazon: FakeAmazon, client: AmazonClient
) -> None:
    [outcome] = client.publish([outgoing("KETTLE/1 weiß")])

    assert outcome.outcome == "published", outcome.issues
    assert amazon.requests[0].path == "/listings/2021-08-01/items/A2SELLER/KETTLE%2F1%20wei%C3%9F"
    assert ("KETTLE/1 weiß", DE) in amazon.listings


def test_a_marketplace_the_client_does_not_serve_fails_alone(
    amazon: FakeAmazon, client: AmazonClient
) -> None:
    outcomes = client.publish([outgoing("KETTLE-1", marketplace="ebay_de"), outgoing("KETTLE-2")])

    assert [o.outcome for o in outcomes] == ["failed", "published"]
    assert "ebay_de" in outcomes[0].issues[0]


# -- rate limits and retries ------------------------------------------------------------------------------


def test_the_clients_own_limit_keeps_it_under_amazons(
    amazon: FakeAmazon, client: AmazonClient, vtime: VirtualTime
) -> None:
    started = vtime.now

    outcomes = client.publish([outgoing(f"SKU-{n}") for n in range(20)])

    assert {o.outcome for o in outcomes} == {"published"}
    assert 429 not in statuses(amazon)
    assert vtime.now - started == pytest.approx(3.2)  # 4 in the burst, then 5 a second


def test_a_burst_of_429s_is_waited_out(amazon: FakeAmazon, make_client: MakeClient) -> None:
    # A client that believes it may send 100 a second meets Amazon's 5 a second, bursts of 10.
    client = make_client(requests_per_second=100.0, burst=100)

    outcomes = client.publish([outgoing(f"SKU-{n}") for n in range(14)])

    assert {o.outcome for o in outcomes} == {"published"}
    assert len(amazon.listings) == 14
    assert statuses(amazon)[:10] == [200] * 10
    assert statuses(amazon).count(429) >= 4
    assert client.requests_sent == len(amazon.requests)


def test_a_429_without_retry_after_backs_off_exponentially(
    amazon: FakeAmazon, client: AmazonClient, vtime: VirtualTime
) -> None:
    amazon.throttle_next(times=3)

    [outcome] = client.publish([outgoing()])

    assert outcome.outcome == "published"
    assert vtime.slept == pytest.approx([0.05, 0.1, 0.2])
    throttled = amazon.requests[0]
    assert throttled.status == 429
    assert client.requests_sent == 4


def test_server_errors_for_a_while_then_success(amazon: FakeAmazon, client: AmazonClient) -> None:
    amazon.fail_next(500, times=2).fail_next(503)

    [outcome] = client.publish([outgoing()])

    assert outcome.outcome == "published"
    assert statuses(amazon) == [500, 500, 503, 200]


def test_server_errors_beyond_the_budget_fail_retryably(
    amazon: FakeAmazon, vtime: VirtualTime, make_client: MakeClient
) -> None:
    client = make_client(retry=RetryPolicy(budget_seconds=1.0, first_backoff_seconds=0.1))
    amazon.fail_next(500, times=100)

    [outcome] = client.publish([outgoing()])

    assert outcome.outcome == "failed"
    assert outcome.retryable
    assert "HTTP 500" in outcome.issues[0]
    assert outcome.response["errors"][0]["code"] == "InternalFailure"
    assert vtime.now - 1_000.0 <= 1.0
    assert amazon.listings == {}


def test_throttling_beyond_the_budget_fails_retryably(amazon: FakeAmazon, make_client: MakeClient) -> None:
    client = make_client(retry=RetryPolicy(budget_seconds=1.0, first_backoff_seconds=0.1))
    amazon.throttle_next(times=100)

    [outcome] = client.publish([outgoing()])

    assert (outcome.outcome, outcome.retryable) == ("failed", True)
    assert outcome.issues[0].startswith("throttled")


def test_a_request_amazon_cannot_read_is_rejected(amazon: FakeAmazon, client: AmazonClient) -> None:
    amazon.fail_next(400)

    [outcome] = client.publish([outgoing()])

    assert outcome.outcome == "rejected"
    assert outcome.issues == (
        "InvalidInput: Request has missing or invalid parameters and cannot be parsed.",
    )


# -- credentials ------------------------------------------------------------------------------------------


def test_a_wrong_client_secret_fails_every_listing_with_lwas_reason(
    amazon: FakeAmazon, make_client: MakeClient
) -> None:
    client = make_client(client_secret="amzn1.oa2-cs.v1.wrong")

    outcomes = client.publish([outgoing("KETTLE-1"), outgoing("KETTLE-2")])

    assert [(o.outcome, o.retryable) for o in outcomes] == [("failed", False)] * 2
    assert outcomes[0].issues == ("Login with Amazon: invalid_client: Client authentication failed",)
    assert len(amazon.token_requests) == 1  # asked once, not once per listing
    assert amazon.requests == []
    with pytest.raises(CredentialsRefused, match="invalid_client"):
        client.check_credentials()


def test_a_wrong_refresh_token_is_refused_with_invalid_grant(
    amazon: FakeAmazon, make_client: MakeClient
) -> None:
    client = make_client(refresh_token="Atzr|revoked")

    with pytest.raises(CredentialsRefused, match="invalid_grant: The request has an invalid grant parameter"):
        client.check_credentials()
    assert amazon.token_requests[0].status == 400


def test_good_credentials_pass_the_check(amazon: FakeAmazon, client: AmazonClient) -> None:
    client.check_credentials()
    assert len(amazon.token_requests) == 1


def test_threads_that_need_a_token_at_once_get_one_between_them(
    amazon: FakeAmazon, client: AmazonClient
) -> None:
    start = threading.Barrier(4)
    tokens: list[str] = []

    def worker() -> None:
        start.wait()
        tokens.append(client.login.token())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(tokens) == 4
    assert len(set(tokens)) == 1
    assert len(amazon.token_requests) == 1


def test_missing_credentials_fail_without_a_request(amazon: FakeAmazon, make_client: MakeClient) -> None:
    client = make_client(refresh_token="")

    [outcome] = client.publish([outgoing()])

    assert (outcome.outcome, outcome.retryable) == ("failed", False)
    assert outcome.issues == ("Amazon SP-API is not configured: AMAZON_REFRESH_TOKEN missing",)
    assert amazon.token_requests == []
    assert amazon.requests == []


def test_a_403_with_a_new_token_too_fails_the_listing(amazon: FakeAmazon, make_client: MakeClient) -> None:
    client = make_client(seller_id="A3OTHERSELLER")  # a seller the token does not cover

    [outcome] = client.publish([outgoing()])

    assert (outcome.outcome, outcome.retryable) == ("failed", False)
    assert outcome.issues == ("Unauthorized: Access to requested resource is denied.",)
    assert statuses(amazon) == [403, 403]
    assert len(amazon.token_requests) == 2


# -- price and quantity -----------------------------------------------------------------------------------


def test_update_offers_patches_only_price_and_quantity(amazon: FakeAmazon, client: AmazonClient) -> None:
    [published] = client.publish([outgoing()])
    changed = outgoing(
        title="A title that must not reach Amazon", price=Decimal("39.90"), quantity=0, ids=published.ids
    )

    [outcome] = client.update_offers([changed])

    assert outcome.outcome == "updated", outcome.issues
    assert outcome.ids["sku"] == "KETTLE-1"
    patch = amazon.requests[-1]
    assert patch.method == "PATCH"
    assert "mode" not in patch.query
    assert [(p["op"], p["path"]) for p in patch.body["patches"]] == [
        ("replace", "/attributes/purchasable_offer"),
        ("replace", "/attributes/fulfillment_availability"),
    ]
    stored = amazon.listings[("KETTLE-1", DE)]
    assert stored.value("item_name") == "Bosch TWK3A011 Wasserkocher 1,7 l, Weiß"
    assert stored.attributes["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] == 39.9
    assert stored.attributes["fulfillment_availability"][0]["quantity"] == 0


def test_update_offers_of_a_sku_amazon_does_not_have_is_rejected(client: AmazonClient) -> None:
    [outcome] = client.update_offers([outgoing("NEVER-LISTED")])

    assert outcome.outcome == "rejected"
    assert outcome.issues[0].startswith("NOT_FOUND: SKU 'NEVER-LISTED' not found")


def test_update_offers_with_refused_credentials_fails_every_listing(
    amazon: FakeAmazon, make_client: MakeClient
) -> None:
    client = make_client(client_id="amzn1.application-oa2-client.other")

    outcomes = client.update_offers([outgoing("KETTLE-1"), outgoing("KETTLE-2")])

    assert [o.outcome for o in outcomes] == ["failed", "failed"]


# -- the fake itself --------------------------------------------------------------------------------------


def test_the_fake_answers_a_stored_listing(amazon: FakeAmazon, client: AmazonClient) -> None:
    client.publish([outgoing()])
    headers = {"x-amz-access-token": client.login.token()}
    url = amazon.base_url + item_path(amazon.seller_id, "KETTLE-1")

    found = httpx.get(url, params={"marketplaceIds": DE, "includedData": "summaries,offers"}, headers=headers)
    missing = httpx.get(url + "-2", params={"marketplaceIds": DE}, headers=headers)

    assert found.status_code == 200
    summary = found.json()["summaries"][0]
    assert summary["itemName"] == "Bosch TWK3A011 Wasserkocher 1,7 l, Weiß"
    assert summary["asin"] == amazon.listings[("KETTLE-1", DE)].asin
    assert found.json()["offers"][0]["price"] == {"currencyCode": "EUR", "amount": "49.99"}
    assert missing.status_code == 404


def test_the_fake_refuses_requests_without_a_token_or_a_known_marketplace(
    amazon: FakeAmazon, client: AmazonClient
) -> None:
    url = amazon.base_url + item_path(amazon.seller_id, "KETTLE-1")
    body = {"productType": "PRODUCT", "attributes": listing_attributes(outgoing(), DE)}

    anonymous = httpx.put(url, params={"marketplaceIds": DE}, json=body)
    elsewhere = httpx.put(
        url,
        params={"marketplaceIds": "ATVPDKIKX0DER"},
        json=body,
        headers={"x-amz-access-token": client.login.token()},
    )

    assert anonymous.status_code == 403
    assert anonymous.json()["errors"][0]["code"] == "Unauthorized"
    assert elsewhere.status_code == 400
    assert elsewhere.json()["errors"][0]["code"] == "InvalidInput"


def test_the_fake_throttles_with_amazons_answer(amazon: FakeAmazon) -> None:
    amazon.throttle_next()
    answer = httpx.put(
        amazon.base_url + item_path(amazon.seller_id, "X"), params={"marketplaceIds": DE}, json={}
    )

    assert answer.status_code == 429
    assert "retry-after" not in answer.headers
    assert answer.headers["x-amzn-RateLimit-Limit"] == "5.0"
    assert answer.json()["errors"][0]["code"] == "QuotaExceeded"


def test_the_fakes_lwa_checks_the_form(amazon: FakeAmazon) -> None:
    form = {"client_id": amazon.client_id, "client_secret": amazon.client_secret}

    missing = httpx.post(amazon.token_url, data={**form, "grant_type": "refresh_token"})
    other_grant = httpx.post(amazon.token_url, data={**form, "grant_type": "authorization_code", "code": "x"})
    as_json = httpx.post(
        amazon.token_url, json={**form, "grant_type": "refresh_token", "refresh_token": amazon.refresh_token}
    )

    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    assert (other_grant.status_code, other_grant.json()["error"]) == (400, "unsupported_grant_type")
    assert as_json.status_code == 400


def test_the_fakes_checks_on_values() -> None:
    attributes = listing_attributes(outgoing(), DE)
    assert validate_attributes(attributes, "LISTING", DE) == []

    attributes["item_name"][0]["value"] = "x" * 201
    attributes["fulfillment_availability"][0]["quantity"] = -1
    attributes["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] = 0
    del attributes["condition_type"][0]["marketplace_id"]
    issues = validate_attributes(attributes, "LISTING", DE)

    assert sorted(issue["attributeNames"][0] for issue in issues) == [
        "condition_type",
        "fulfillment_availability",
        "item_name",
        "purchasable_offer",
    ]
    assert gs1_check_digit_ok(EAN)
    assert not gs1_check_digit_ok("4006381333932")

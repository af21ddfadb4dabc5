"""End to end with publishing: the API and a worker process, the worker's marketplace clients talking
to the fake Amazon, eBay and Kaufland servers over loopback (the copy written in German by the fake
Groq), through a Kaufland outage, then a re-import that only moves the stock."""

from __future__ import annotations

import pytest

from devstack.fake_marketplaces.amazon import FakeAmazon
from devstack.fake_marketplaces.ebay import FakeEbay
from devstack.fake_marketplaces.kaufland import FakeKaufland
from tests.support.ai import translated
from tests.support.factories import ean13, spam_product
from tests.support.fake_groq import FakeGroq
from tests.support.rows import rows

pytestmark = pytest.mark.e2e

MARKETPLACES = ["amazon_de", "ebay_de", "kaufland_de"]


def marketplace_env(amazon: FakeAmazon, ebay: FakeEbay, kaufland: FakeKaufland) -> dict[str, str]:
    config = ebay.ebay_config()
    return {
        "AMAZON_SELLER_ID": amazon.seller_id, "AMAZON_CLIENT_ID": amazon.client_id,
        "AMAZON_CLIENT_SECRET": amazon.client_secret, "AMAZON_REFRESH_TOKEN": amazon.refresh_token,
        "AMAZON_API_URL": amazon.base_url, "AMAZON_TOKEN_URL": amazon.token_url,
        "EBAY_CLIENT_ID": config.client_id, "EBAY_CLIENT_SECRET": config.client_secret,
        "EBAY_REFRESH_TOKEN": config.refresh_token, "EBAY_API_URL": config.api_url,
        "EBAY_FULFILLMENT_POLICY_ID": config.fulfillment_policy_id,
        "EBAY_PAYMENT_POLICY_ID": config.payment_policy_id, "EBAY_RETURN_POLICY_ID": config.return_policy_id,
        "EBAY_MERCHANT_LOCATION_KEY": config.merchant_location_key, "EBAY_CATEGORY_ID": config.category_id,
        "KAUFLAND_CLIENT_KEY": kaufland.client_key, "KAUFLAND_SECRET_KEY": kaufland.secret_key,
        "KAUFLAND_API_URL": kaufland.base_url,
        "PUBLISH_RETRY_BUDGET_SECONDS": "20",
    }  # fmt: skip


def test_a_job_goes_from_webhook_to_published_on_all_three_marketplaces(stack):
    with (
        FakeGroq(tokens_per_minute=1_000_000) as groq,
        FakeAmazon() as amazon,
        FakeEbay() as ebay,
        FakeKaufland() as kaufland,
    ):
        groq.set_default("good", answer=translated)
        kaufland.fail_next(503, times=3)  # Kaufland down for a moment: retried, not lost
        stack.env |= {
            "GROQ_API_KEY": groq.api_key, "GROQ_BASE_URL": groq.base_url,
            "GROQ_TOKENS_PER_MINUTE": "1000000", "GROQ_REQUESTS_PER_MINUTE": "1000",
            **marketplace_env(amazon, ebay, kaufland),
        }  # fmt: skip
        stack.start_api()
        stack.start_worker()
        products = [spam_product(n, ean=ean13(n), stock=7) for n in range(1, 7)]
        batch = {"source": "allegro", "products": products,
                 "options": {"marketplaces": MARKETPLACES, "publish": True}}  # fmt: skip

        job = stack.wait_for_job(stack.post("/api/import/webhook", batch).json()["job_id"])

        assert job["status"] == "completed", job["errors"]
        assert job["stages"]["publish"] == {"done": 6, "failed": 0}
        for marketplace in MARKETPLACES:
            assert job["publishing"][marketplace]["published"] == 6, job["publishing"]
        assert len(amazon.listings) == 6
        assert len(ebay.offers) == 6
        assert len(kaufland.units) == 6
        statuses = rows(stack, "SELECT publish_status, count(*) FROM product_listings GROUP BY 1")
        assert [tuple(row) for row in statuses] == [("published", 18)]
        (logged,) = rows(stack, "SELECT count(*) FROM sync_logs WHERE job_id = :job", job=job["id"])[0]
        assert logged == 18

        for item in products:
            item["stock"] = 3
        again = stack.wait_for_job(stack.post("/api/import/webhook", batch).json()["job_id"])

        assert again["status"] == "completed", again["errors"]
        assert again["publishing"]["ebay_de"]["updated"] == 6
        assert {offer.quantity for offer in ebay.offers.values()} == {3}
        assert len(ebay.offers) == 6  # updated in place, none created
        assert {unit["amount"] for unit in kaufland.units.values()} == {3}
        patched = [r for r in amazon.requests if r.method == "PATCH"]
        assert len(patched) == 6

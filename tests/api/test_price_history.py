"""`GET /api/products/{id}/price-history`: every stored price decision, newest first, with what moved it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import PriceRecord, Product
from services.products.price_history import price_change
from tests.support.factories import product
from tests.support.jobs import new_job, processed, run_job

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def imported_product(session, index: int = 1):
    run_job(session, new_job(session, [product(index)]))
    return session.scalar(select(Product.id).where(Product.source_id == product(index)["source_id"]))


def decision(
    session, product_id: int, marketplace: str, price: str | None, minutes: int, *, currency: str = "EUR",
    status: str = "priced", steps: list[str] | None = None, reasons: list[str] | None = None,
) -> PriceRecord:  # fmt: skip
    record = PriceRecord(
        product_id=product_id, marketplace=marketplace, job_id=uuid.uuid4(),
        price=None if price is None else Decimal(price), currency=currency, status=status,
        applied=status == "priced", competitors=[],
        decision={"strategy_used": None if price is None else "beat_lowest", "steps": steps or [],
                  "reasons": reasons or []},
        created_at=T0 + timedelta(minutes=minutes),
    )  # fmt: skip
    session.add(record)
    session.flush()
    return record


def history(client, product_id: int, **params):
    response = client.get(f"/api/products/{product_id}/price-history", params=params)
    assert response.status_code == 200, response.text
    return response.json()


class TestPriceHistory:
    def test_newest_first_with_the_change_from_the_marketplaces_previous_decision(self, client, db_session):
        product_id = imported_product(db_session)
        decision(
            db_session, product_id, "amazon_de", "100.00", 0, steps=["lowest 105,00 EUR", "→ 100,00 EUR"]
        )
        decision(db_session, product_id, "ebay_de", "50.00", 1)
        decision(db_session, product_id, "amazon_de", "110.00", 2, steps=["beat by 1% → 110,00 EUR"])
        decision(db_session, product_id, "amazon_de", None, 3, status="no_price",
                 steps=["no competitor"], reasons=["nothing to base a price on"])  # fmt: skip
        decision(db_session, product_id, "ebay_de", "45.50", 4, status="needs_review",
                 steps=["→ 45,50 EUR"], reasons=["below 80 % of the source price"])  # fmt: skip

        answer = history(client, product_id)

        assert answer["product_id"] == product_id
        items = answer["items"]
        assert [(i["marketplace"], i["price"]) for i in items] == [
            ("ebay_de", "45.50"), ("amazon_de", None), ("amazon_de", "110.00"), ("ebay_de", "50.00"),
            ("amazon_de", "100.00"),
        ]  # fmt: skip
        newest = items[0]
        assert newest["change"] == {"previous_price": "50.00", "amount": "-4.50", "percent": "-9.00"}
        assert (newest["status"], newest["applied"], newest["currency"]) == ("needs_review", False, "EUR")
        assert newest["why"] == "below 80 % of the source price"  # the reasons, when there are any
        assert newest["reasons"] == ["below 80 % of the source price"]
        assert newest["strategy_used"] == "beat_lowest"
        assert newest["created_at"].startswith("2026-11-20T12:04")
        assert uuid.UUID(newest["job_id"])
        no_price = items[1]
        assert (no_price["change"], no_price["strategy_used"]) == (None, None)
        assert no_price["why"] == "nothing to base a price on"
        raised = items[2]
        assert raised["change"] == {"previous_price": "100.00", "amount": "10.00", "percent": "10.00"}
        assert raised["why"] == "beat by 1% → 110,00 EUR"  # else the steps' last line
        assert items[3]["change"] is None  # each marketplace's first decision
        assert items[4]["change"] is None

    def test_one_marketplace_and_a_limit_keep_the_change_from_rows_left_out(self, client, db_session):
        product_id = imported_product(db_session)
        decision(db_session, product_id, "amazon_de", "80.00", 0)
        decision(db_session, product_id, "ebay_de", "70.00", 1)
        decision(db_session, product_id, "amazon_de", "100.00", 2)

        items = history(client, product_id, marketplace="amazon_de", limit=1)["items"]

        assert [(i["marketplace"], i["price"]) for i in items] == [("amazon_de", "100.00")]
        assert items[0]["change"] == {"previous_price": "80.00", "amount": "20.00", "percent": "25.00"}
        assert history(client, product_id, marketplace="kaufland_de")["items"] == []

    def test_no_change_across_currencies(self, client, db_session):
        product_id = imported_product(db_session)
        decision(db_session, product_id, "allegro_pl", "400.00", 0, currency="PLN")
        decision(db_session, product_id, "allegro_pl", "95.00", 1, currency="EUR")
        assert history(client, product_id)["items"][0]["change"] is None

    def test_the_decisions_the_price_stage_stored(self, client, db_session):
        processed(db_session, [product(1)], marketplaces=["amazon_de", "allegro_pl"])
        product_id = db_session.scalar(select(Product.id))
        query = select(PriceRecord).where(PriceRecord.product_id == product_id)
        records = {record.marketplace: record for record in db_session.scalars(query)}

        items = history(client, product_id)["items"]

        assert {item["marketplace"] for item in items} == {"amazon_de", "allegro_pl"}
        for item in items:
            record = records[item["marketplace"]]
            assert item["status"] == record.status
            assert item["strategy_used"] == record.decision["strategy_used"]
            expected_why = "; ".join(record.decision["reasons"]) or record.decision["steps"][-1]
            assert item["why"] == expected_why
            assert item["change"] is None

    def test_an_unknown_product_is_404(self, client):
        response = client.get("/api/products/999999/price-history")
        assert response.status_code == 404
        assert response.json()["detail"] == "product 999999 not found"

    @pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"marketplace": "mars_de"}])
    def test_bad_parameters_are_422(self, client, db_session, params):
        product_id = imported_product(db_session)
        assert client.get(f"/api/products/{product_id}/price-history", params=params).status_code == 422

    def test_needs_a_key(self, anonymous_client):
        assert anonymous_client.get("/api/products/1/price-history").status_code == 401


class TestPriceChange:
    def test_amount_and_percent_to_the_cent(self):
        change = price_change(Decimal("33.33"), "EUR", Decimal("30.00"), "EUR")
        assert change is not None
        assert (change.amount, change.percent) == (Decimal("3.33"), Decimal("11.10"))

    def test_from_zero_has_no_percent(self):
        change = price_change(Decimal("5"), "EUR", Decimal("0"), "EUR")
        assert change is not None
        assert (change.amount, change.percent) == (Decimal("5.00"), None)

    @pytest.mark.parametrize(
        ("price", "previous", "previous_currency"),
        [(None, Decimal(1), "EUR"), (Decimal(1), None, None), (Decimal(1), Decimal(2), "PLN")],
    )
    def test_none_without_two_prices_in_one_currency(self, price, previous, previous_currency):
        assert price_change(price, "EUR", previous, previous_currency) is None

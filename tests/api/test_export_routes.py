"""The export routes: which marketplaces can be published to, the feeds, a product's sync log."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from models import Product
from services.pipeline import jobs
from services.publishing.feed import safe_cell
from tests.support.ai import groq_copywriter, translated
from tests.support.factories import ean13, spam_product
from tests.support.fake_groq import FakeGroq
from tests.support.jobs import new_job, processed
from tests.support.marketplaces import fake_marketplaces
from tests.support.pipeline import COPY, run_pipeline, run_stages


def test_marketplaces_say_which_are_configured_and_what_to_set(client):
    answer = client.get("/api/export/marketplaces")

    assert answer.status_code == 200
    marketplaces = {m["id"]: m for m in answer.json()["marketplaces"]}
    amazon = marketplaces["amazon_de"]
    assert (amazon["status"], amazon["configured"]) == ("not_configured", False)
    assert amazon["reason"].startswith("not configured: set AMAZON_SELLER_ID, AMAZON_CLIENT_ID")
    assert (
        marketplaces["kaufland_de"]["reason"]
        == "not configured: set KAUFLAND_CLIENT_KEY, KAUFLAND_SECRET_KEY"
    )
    assert marketplaces["allegro_pl"]["status"] == "feed_only"
    assert "feed" in marketplaces["allegro_pl"]["reason"]


def publishable_on_allegro(session, count=2, **overrides):
    """Polish products on allegro_pl: publishable without any AI copy."""
    products = [spam_product(n, **{"stock": 3, **overrides}) for n in range(1, count + 1)]
    processed(session, products, marketplaces=["allegro_pl", "ebay_de"])
    return products


def test_the_csv_feed_has_one_row_per_publishable_listing(client, db_session):
    products = publishable_on_allegro(db_session)

    answer = client.get("/api/export/feed", params={"marketplace": "allegro_pl"})

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="allegro_pl-feed.csv"' in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheets read the Polish letters right
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [row["sku"] for row in rows] == [f"allegro-{p['source_id']}-PL" for p in products]
    assert {row["currency"] for row in rows} == {"PLN"}
    assert {row["quantity"] for row in rows} == {"3"}
    assert all(row["title"] and row["images"].startswith("https://") for row in rows)


def test_the_xlsx_feed_opens_as_a_spreadsheet(client, db_session):
    products = publishable_on_allegro(db_session)

    answer = client.get("/api/export/feed", params={"marketplace": "allegro_pl", "format": "xlsx"})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(answer.content)).get_sheet_by_name("allegro_pl")
    header, *rows = sheet.to_python()
    assert header[:3] == ["sku", "ean", "title"]
    assert [row[0] for row in rows] == [f"allegro-{p['source_id']}-PL" for p in products]
    assert all(isinstance(row[header.index("price")], float) for row in rows)


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted(client, db_session):
    publishable_on_allegro(db_session, count=1, title='=HYPERLINK("http://evil") Słuchawki Sony czarne')

    text = client.get("/api/export/feed", params={"marketplace": "allegro_pl"}).content.decode("utf-8-sig")

    (row,) = csv.DictReader(io.StringIO(text))
    assert not row["title"].startswith("=")
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("-2+3+cmd|' /C calc'!A0") == "'-2+3+cmd|' /C calc'!A0"
    assert safe_cell("-5") == "-5"
    assert safe_cell("Sony -5 %") == "Sony -5 %"


def test_a_feed_leaves_out_what_may_not_go_out(client, db_session):
    publishable_on_allegro(db_session)

    german = client.get("/api/export/feed", params={"marketplace": "ebay_de", "format": "json"})

    assert german.status_code == 200
    assert german.json() == {"marketplace": "ebay_de", "columns": german.json()["columns"], "items": []}


def test_a_feed_leaves_out_listings_whose_stock_is_unknown(client, db_session):
    publishable_on_allegro(db_session, stock=None)

    answer = client.get("/api/export/feed", params={"marketplace": "allegro_pl", "format": "json"})

    assert answer.json()["items"] == []


def test_the_json_feed_carries_gross_prices(client, db_session):
    publishable_on_allegro(db_session, count=1)

    (item,) = client.get("/api/export/feed", params={"marketplace": "allegro_pl", "format": "json"}).json()[
        "items"
    ]

    assert item["currency"] == "PLN"
    assert float(item["price"]) > 0
    assert item["language"] == "pl"


def test_an_unknown_marketplace_or_format_is_a_clear_422(client):
    assert client.get("/api/export/feed", params={"marketplace": "otto_de"}).status_code == 422
    answer = client.get("/api/export/feed", params={"marketplace": "allegro_pl", "format": "xml"})
    assert answer.status_code == 422


def test_sync_logs_of_a_product(client, db_session):
    publishable_on_allegro(db_session, count=1)
    product_id = db_session.scalar(select(Product.id))

    answer = client.get(f"/api/products/{product_id}/sync-logs")

    assert answer.status_code == 200
    assert answer.json() == {"product_id": product_id, "items": []}  # the job did not publish
    assert client.get("/api/products/999999/sync-logs").status_code == 404


class TestPublishingStoredProducts:
    """`/publish/{id}` and `/bulk-publish` start a job over stored products at the publish stage; the
    workers' stage is run here in-process against the fake marketplaces."""

    @pytest.fixture
    def german_products(self, db_session):
        with FakeGroq() as groq:
            groq.set_default("good", answer=translated)
            items = [spam_product(n, ean=ean13(n), stock=4) for n in (1, 2)]
            job_id = new_job(db_session, items, marketplaces=["ebay_de", "amazon_de"])
            run_pipeline(db_session, job_id, copywriter=groq_copywriter(groq, model=COPY.model))
        return list(db_session.scalars(select(Product.id).order_by(Product.id)))

    @pytest.fixture
    def markets(self):
        with fake_marketplaces() as started:
            yield started

    def run_publish(self, db_session, markets, bulk_id):
        run_stages(db_session, uuid.UUID(bulk_id), availability=markets.availability)
        jobs.finish_if_done(db_session, uuid.UUID(bulk_id))

    def test_a_bulk_job_publishes_and_reports_each_listing(
        self, client, db_session, german_products, markets
    ):
        body = {
            "job_type": "publish",
            "target_marketplace": "ebay",
            "product_ids": [*german_products, 999999],
        }

        started = client.post("/api/export/bulk-publish", json=body)

        assert started.status_code == 202
        bulk = started.json()
        assert (bulk["status"], bulk["total_items"], bulk["target_marketplace"]) == ("running", 3, "ebay_de")
        self.run_publish(db_session, markets, bulk["id"])
        done = client.get(f"/api/export/bulk-jobs/{bulk['id']}").json()
        assert (done["status"], done["processed_items"], done["failed_items"]) == (
            "completed_with_errors",
            2,
            1,
        )
        assert [r["status"] for r in done["results"]] == ["published", "published"]
        assert all("offer_id" in r["ids"] for r in done["results"])
        assert done["errors"][0]["error"] == "no product with id 999999"
        assert len(markets.ebay.offers) == 2
        assert client.get(done["status_url"]).json()["publishing"]["ebay_de"]["published"] == 2

    def test_one_product_in_preview(self, client, db_session, german_products, markets):
        started = client.post(
            f"/api/export/publish/{german_products[0]}", params={"marketplace": "amazon_de", "preview": True}
        )

        assert started.status_code == 202
        self.run_publish(db_session, markets, started.json()["id"])
        done = client.get(f"/api/export/bulk-jobs/{started.json()['id']}").json()
        assert (done["job_type"], done["status"]) == ("preview", "completed")
        assert [r["status"] for r in done["results"]] == ["valid"]
        assert markets.amazon.listings == {}

    def test_unknown_marketplace_product_or_job(self, client, german_products):
        unknown = client.post(
            "/api/export/bulk-publish", json={"target_marketplace": "otto", "product_ids": [1]}
        )
        assert unknown.status_code == 422
        assert "otto" in unknown.text
        assert client.post("/api/export/publish/999999", params={"marketplace": "ebay"}).status_code == 404
        assert client.get(f"/api/export/bulk-jobs/{uuid.uuid4()}").status_code == 404

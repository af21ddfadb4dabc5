"""The export routes: which marketplaces can be published to, the feeds, a product's sync log."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from models import Product
from tests.support.factories import spam_product
from tests.support.jobs import processed


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

"""The publish stage, in-process, against the three fake marketplaces: only publishable listings go
out, each marketplace's answer lands on its listing and in the sync log, a re-import updates only
what changed, and a marketplace that cannot publish fails its listings, never the job."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from models import JobItem, Listing, Product, SyncLog
from services.pipeline import jobs
from services.rules import store as rule_store
from tests.support.ai import groq_copywriter, translated
from tests.support.factories import ean13, spam_product
from tests.support.fake_groq import FakeGroq
from tests.support.jobs import new_job
from tests.support.marketplaces import Marketplaces, fake_marketplaces
from tests.support.pipeline import COPY, run_pipeline

GERMAN = ["amazon_de", "ebay_de", "kaufland_de"]


def products(count: int, **overrides):
    return [spam_product(n, **{"ean": ean13(n), "stock": 5, **overrides}) for n in range(1, count + 1)]


@pytest.fixture
def groq():
    with FakeGroq() as server:
        server.set_default("good", answer=translated)  # German copy for *_de
        yield server


@pytest.fixture
def markets():
    with fake_marketplaces() as started:
        yield started


def publish_job(session, groq, markets: Marketplaces, items, **options):
    job_id = new_job(session, items, marketplaces=options.pop("marketplaces", GERMAN), **options)
    status = run_pipeline(
        session, job_id, copywriter=groq_copywriter(groq, model=COPY.model), availability=markets.availability
    )
    session.expire_all()
    return job_id, status


def listings(session, source_id):
    product_id = session.scalar(select(Product.id).where(Product.source_id == source_id))
    rows = session.scalars(select(Listing).where(Listing.product_id == product_id))
    return {row.marketplace: row for row in rows}


def logs(session, job_id):
    return session.scalars(select(SyncLog).where(SyncLog.job_id == job_id).order_by(SyncLog.id)).all()


def test_a_publishing_job_lists_every_publishable_listing_on_all_three_marketplaces(
    db_session, groq, markets
):
    job_id, status = publish_job(db_session, groq, markets, products(3), publish=True)

    assert status == "completed"
    view = jobs.job_view(db_session, job_id)
    assert view.stages["publish"].done == 3
    for marketplace in GERMAN:
        assert view.publishing[marketplace].published == 3
    rows = listings(db_session, spam_product(1)["source_id"])
    for marketplace, ids in (("amazon_de", {"sku", "submission_id"}), ("ebay_de", {"offer_id", "listing_id"}),
                             ("kaufland_de", {"unit_id"})):  # fmt: skip
        row = rows[marketplace]
        assert row.publish_status == "published", row.publish_issues
        assert ids <= set(row.marketplace_ids or {})
        assert row.published_price == row.price
        assert row.published_quantity == 5
        assert row.sku is not None
        assert row.sku.endswith("-DE")
    assert len(markets.amazon.listings) == 3
    assert len(markets.ebay.offers) == 3
    assert {o.status for o in markets.ebay.offers.values()} == {"PUBLISHED"}
    assert len(markets.kaufland.units) == 3
    sent = next(log for log in logs(db_session, job_id) if log.marketplace == "kaufland_de")
    assert (sent.action, sent.status, sent.old_values) == ("publish", "published", None)
    assert sent.new_values is not None
    assert sent.new_values["quantity"] == 5


def test_a_second_delivery_of_the_stage_sends_nothing_again(db_session, groq, markets):
    job_id, _ = publish_job(db_session, groq, markets, products(1), publish=True)
    before = markets.requests()

    from tests.support.pipeline import run_stages  # the same chunk's stages once more

    run_stages(db_session, job_id, availability=markets.availability)

    assert markets.requests() == before
    assert len(logs(db_session, job_id)) == 3


def test_a_re_import_with_a_new_stock_updates_only_price_and_quantity(db_session, groq, markets):
    publish_job(db_session, groq, markets, products(1), publish=True)
    title_before = next(iter(markets.amazon.listings.values())).attributes["item_name"]

    again, status = publish_job(db_session, groq, markets, products(1, stock=9), publish=True)

    assert status == "completed"
    assert [(log.marketplace, log.action, log.status) for log in logs(db_session, again)] == [
        ("amazon_de", "update", "updated"),
        ("ebay_de", "update", "updated"),
        ("kaufland_de", "update", "updated"),
    ]
    assert next(iter(markets.amazon.listings.values())).attributes["item_name"] == title_before
    assert [o.quantity for o in markets.ebay.offers.values()] == [9]
    assert [u["amount"] for u in markets.kaufland.units.values()] == [9]
    update_log = logs(db_session, again)[0]
    assert (update_log.old_values or {})["quantity"] == 5
    assert (update_log.new_values or {})["quantity"] == 9


def test_a_re_import_of_the_same_products_sends_nothing(db_session, groq, markets):
    publish_job(db_session, groq, markets, products(2), publish=True)
    before = markets.requests()

    again, _ = publish_job(db_session, groq, markets, products(2), publish=True)

    assert markets.requests() == before
    assert jobs.job_view(db_session, again).publishing["ebay_de"].unchanged == 2


def test_a_listing_that_is_not_publishable_is_skipped_with_its_blockers(db_session, groq, markets):
    job_id = new_job(db_session, products(1), marketplaces=GERMAN, publish=True)

    assert (
        run_pipeline(db_session, job_id, availability=markets.availability) == "completed"
    )  # no AI: Polish copy

    db_session.expire_all()
    assert markets.requests() == 0
    skipped = logs(db_session, job_id)
    assert {(log.action, log.status) for log in skipped} == {("skip", "skipped")}
    assert "lists in German" in (skipped[0].error_message or "")
    assert jobs.job_view(db_session, job_id).publishing["amazon_de"].skipped == 1


def test_a_marketplace_without_credentials_fails_its_listings_and_not_the_job(db_session, groq):
    with fake_marketplaces(unavailable={"ebay_de": "not configured: set EBAY_CLIENT_ID"}) as markets:
        job_id, status = publish_job(db_session, groq, markets, products(1), publish=True)

    assert status == "completed_with_errors"
    (error,) = jobs.job_view(db_session, job_id).errors
    assert (error.stage, error.field, error.error) == (
        "publish", "publish.ebay_de", "not configured: set EBAY_CLIENT_ID"
    )  # fmt: skip
    rows = listings(db_session, spam_product(1)["source_id"])
    assert rows["ebay_de"].publish_status == "failed"
    assert rows["amazon_de"].publish_status == rows["kaufland_de"].publish_status == "published"


def test_a_rejection_carries_the_marketplaces_own_words(db_session, groq, markets):
    job_id = new_job(db_session, products(1), marketplaces=["ebay_de"], publish=True)
    from services.publishing.sku import sku_for

    sku = sku_for("allegro", spam_product(1)["source_id"], "ebay_de")
    markets.ebay.reject_publish(sku, 25007, "Please add at least one valid shipping service option.", None)

    status = run_pipeline(
        db_session,
        job_id,
        copywriter=groq_copywriter(groq, model=COPY.model),
        availability=markets.availability,
    )

    assert status == "completed_with_errors"
    (error,) = jobs.job_view(db_session, job_id).errors
    assert "shipping service" in error.error
    db_session.expire_all()
    row = listings(db_session, spam_product(1)["source_id"])["ebay_de"]
    assert row.publish_status == "rejected"
    assert "offer_id" in (row.marketplace_ids or {})  # kept: the next try publishes the same offer


def test_a_preview_validates_and_lists_nothing(db_session, groq, markets):
    job_id, status = publish_job(db_session, groq, markets, products(1), publish="preview")

    assert status == "completed"
    assert markets.amazon.listings == {}
    modes = [r.query.get("mode") for r in markets.amazon.requests if r.method == "PUT"]
    assert modes == [["VALIDATION_PREVIEW"]]
    assert markets.ebay.requests == []
    assert markets.kaufland.requests == []
    rows = listings(db_session, spam_product(1)["source_id"])
    assert {row.publish_status for row in rows.values()} == {"valid"}
    assert all(row.published_price is None for row in rows.values())
    assert jobs.job_view(db_session, job_id).publishing["amazon_de"].valid == 1


def test_unknown_stock_is_not_offered(db_session, groq, markets):
    job_id, status = publish_job(db_session, groq, markets, products(1, stock=None), publish=True)

    assert status == "completed"
    assert markets.requests() == 0
    assert "stock is unknown" in (logs(db_session, job_id)[0].error_message or "")


def test_a_job_that_does_not_publish_never_reaches_the_stage(db_session, groq, markets):
    job_id, status = publish_job(db_session, groq, markets, products(1))

    assert status == "completed"
    assert markets.requests() == 0
    assert "publish" not in jobs.job_view(db_session, job_id).stages
    stages_done = db_session.scalars(select(JobItem.stage).where(JobItem.job_id == job_id)).all()
    assert stages_done == ["score"]


def test_a_price_below_the_published_one_is_what_the_update_sends(db_session, groq, markets):
    publish_job(db_session, groq, markets, products(1), publish=True)
    db_session.execute(update(Listing).values(published_price=Decimal("1.00")))  # as if it moved since

    again, _ = publish_job(db_session, groq, markets, products(1), publish=True)

    actions = {(log.marketplace, log.action) for log in logs(db_session, again)}
    assert actions == {("amazon_de", "update"), ("ebay_de", "update"), ("kaufland_de", "update")}


def test_a_live_offer_that_may_not_go_out_any_more_is_paused_and_comes_back_in_full(
    db_session, groq, markets
):
    publish_job(db_session, groq, markets, products(1), publish=True)
    rule = rule_store.create_rule(
        db_session,
        {"name": "Not on eBay", "type": "product", "action": "block",
         "conditions": {"field": "marketplace", "op": "eq", "value": "ebay_de"}},
    )  # fmt: skip

    paused, status = publish_job(db_session, groq, markets, products(1), publish=True)

    assert status == "completed"
    (log,) = [log for log in logs(db_session, paused) if log.marketplace == "ebay_de"]
    assert (log.action, log.status) == ("pause", "paused")
    assert "blocked by your rule 'Not on eBay'" in (log.error_message or "")
    assert [offer.quantity for offer in markets.ebay.offers.values()] == [0]
    row = listings(db_session, spam_product(1)["source_id"])["ebay_de"]
    assert (row.publish_status, row.published_quantity) == ("paused", 0)
    assert jobs.job_view(db_session, paused).publishing["ebay_de"].paused == 1
    others = {log.action for log in logs(db_session, paused) if log.marketplace != "ebay_de"}
    assert others == {"unchanged"}

    rule_store.delete_rule(db_session, rule.id)
    back, _ = publish_job(db_session, groq, markets, products(1), publish=True)

    (log,) = [log for log in logs(db_session, back) if log.marketplace == "ebay_de"]
    assert (log.action, log.status) == ("publish", "published")
    assert [offer.quantity for offer in markets.ebay.offers.values()] == [5]
    assert len(markets.ebay.offers) == 1  # the same offer, on sale again

"""The stages over real Postgres: normalize → price → score, the skips on re-import, failures alone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import ImportJob, JobItem, Listing, PriceRecord, PricingProfileRow, Product, RuleRow, stages
from services.pipeline import jobs
from services.pipeline.items import fail_items
from services.pipeline.stages import import_ as product_import
from services.pipeline.stages.price import price_chunk
from tests.support.factories import product, spam_product
from tests.support.jobs import new_job
from tests.support.pipeline import RATES, normalize_first_chunk, price_settings, run_pipeline, run_stages

MARKETPLACES = ("amazon_de", "ebay_de", "kaufland_de")


def price_first_chunk(session, job_id):
    return price_chunk(
        session, job_id, 0, marketplaces=MARKETPLACES, profile_name=None, rates=RATES, **price_settings()
    )


def listings_of(session, source_id):
    product_id = session.scalar(select(Product.id).where(Product.source_id == source_id))
    rows = session.scalars(select(Listing).where(Listing.product_id == product_id)).all()
    return {row.marketplace: row for row in rows}


def history_count(session):
    return session.scalar(select(func.count()).select_from(PriceRecord))


class TestTheChain:
    def test_a_product_comes_out_clean_priced_and_scored_on_each_marketplace(self, db_session):
        job_id = new_job(db_session, [spam_product(1)])

        assert run_pipeline(db_session, job_id) == "completed"

        stored = db_session.scalar(select(Product))
        assert stored.status == "scored"
        assert "!!!" not in stored.normalized_title
        assert "OKAZJA" not in stored.normalized_title
        assert "Sony" in stored.normalized_title
        assert "WH-1000XM4" in stored.normalized_title
        assert stored.normalized_brand == "Sony"
        assert stored.normalize_key
        assert stored.normalized["changes"]
        listings = listings_of(db_session, stored.source_id)
        assert set(listings) == set(MARKETPLACES)
        assert len(listings["ebay_de"].title) <= 80
        # The Allegro offers do not price the German marketplaces (the default profile uses each
        # marketplace's own offers): the source price 1 299,99 PLN without its 23 % VAT, converted,
        # with 19 % = 295,93 EUR, raised to the floor at cost + fee + VAT (950 PLN = 223,53 EUR; on
        # eBay, 11 %: 223,53 × 1.19 / (1 − 0.11 × 1.19) = 306,07), .99 up.
        expected = {
            "amazon_de": ("323.99", "323.80", "15.000"),
            "ebay_de": ("306.99", "306.07", "11.000"),
            "kaufland_de": ("303.99", "303.99", "10.500"),
        }
        for marketplace, listing in listings.items():
            assert listing.currency == "EUR"
            assert listing.price_status == "priced"
            assert (str(listing.price), str(listing.floor), str(listing.fee_percent)) == expected[marketplace]
            assert listing.vat_percent == Decimal(19)
            assert 0 <= listing.quality_score <= 100
            assert listing.grade in "ABCDE"
            assert listing.evaluation == "ok"
        assert stored.optimization_score is not None
        assert stored.evaluation == "ok"

        record = db_session.scalars(select(PriceRecord).where(PriceRecord.marketplace == "ebay_de")).one()
        assert record.job_id == job_id
        assert record.applied
        assert {c["seller"]: c["reason"] for c in record.competitors} == {
            "a": "seen on Allegro", "b": "seen on Allegro", "c": "seen on Allegro", "d": "out of stock",
        }  # fmt: skip
        assert record.decision["strategy_used"] == "markup_source"
        assert record.decision["marketplace_fee_percent"] == "11"
        assert record.decision["steps"][-2] == (
            "price 306,99 EUR with VAT 19% (DE): 257,97 EUR net + 49,02 EUR VAT"
        )

        view = jobs.job_view(db_session, job_id)
        assert {stage: counts.done for stage, counts in view.stages.items()} == {
            "import": 1, "normalize": 1, "optimize": 1, "price": 1, "score": 1,
        }  # fmt: skip
        assert view.analysis == {"ok": 1, "warning": 0, "blocked": 0}

    def test_the_job_marketplaces_decide_the_listings_and_currencies(self, db_session):
        job_id = new_job(db_session, [spam_product(1)], marketplaces=["allegro_pl", "ebay_de"])
        run_pipeline(db_session, job_id)

        listings = listings_of(db_session, spam_product(1)["source_id"])
        assert set(listings) == {"allegro_pl", "ebay_de"}
        assert listings["allegro_pl"].currency == "PLN"
        # Allegro's own offers count there: 1 249 − 1% = 1 236,51, below the floor at cost + fee + VAT
        # (950 × 1.23 / (1 − 0.10 × 1.23) = 1 332,39): raised, .99 up. Never at a loss.
        assert listings["allegro_pl"].price == Decimal("1332.99")
        assert listings["allegro_pl"].vat_percent == Decimal(23)
        assert len(listings["allegro_pl"].title) <= 75
        record = db_session.scalars(select(PriceRecord).where(PriceRecord.marketplace == "allegro_pl")).one()
        assert record.outliers == 1
        outlier = next(c for c in record.competitors if c["seller"] == "c")
        assert (outlier["is_outlier"], outlier["counted"]) == (True, False)
        assert any("lowest in-stock competitor 1 249,00 PLN (a)" in step for step in record.decision["steps"])

    def test_a_batch_with_bad_products_fails_them_alone_and_the_rest_completes(self, db_session):
        good = [product(i) for i in range(1, 6)]
        bad = product(99, cost="zapytaj sprzedawcę")
        job_id = new_job(db_session, [*good, bad], chunk_size=2)

        assert run_pipeline(db_session, job_id) == "completed_with_errors"
        view = jobs.job_view(db_session, job_id)
        assert (view.processed_products, view.failed_products) == (5, 1)
        assert view.stages["score"].done == 5
        assert [(e.stage, e.field) for e in view.errors] == [("import", "cost")]

    def test_a_price_that_cannot_be_read_is_imported_without_one_and_priced_from_competitors(
        self, db_session
    ):
        unreadable = spam_product(1, price="zapytaj sprzedawcę")
        job_id = new_job(db_session, [unreadable], marketplaces=["allegro_pl", "ebay_de"])

        run_pipeline(db_session, job_id)

        view = jobs.job_view(db_session, job_id)
        assert (view.processed_products, view.failed_products) == (1, 0)
        assert db_session.scalar(select(Product.price)) is None
        listings = listings_of(db_session, unreadable["source_id"])
        # Allegro's offers price it on Allegro (at least cost + fee + VAT); nothing prices it on eBay.de.
        assert (listings["allegro_pl"].price_status, listings["allegro_pl"].price) == (
            "priced",
            Decimal("1332.99"),
        )
        assert (listings["ebay_de"].price_status, listings["ebay_de"].price) == ("no_price", None)


class TestReimport:
    def test_unchanged_products_skip_every_stage(self, db_session):
        first = new_job(db_session, [spam_product(1), spam_product(2)])
        run_pipeline(db_session, first)
        before = {
            m: (row.updated_at, row.price)
            for m, row in listings_of(db_session, spam_product(1)["source_id"]).items()
        }
        records = history_count(db_session)

        again = new_job(db_session, [spam_product(1), spam_product(2)])
        for number in jobs.begin_job(db_session, again):
            product_import.import_chunk(db_session, again, number, next_stage=stages.NORMALIZE)
        result = normalize_first_chunk(db_session, again)
        assert result.skipped == 2
        run_stages(db_session, again)
        assert jobs.finish_if_done(db_session, again) == "completed"

        after = {
            m: (row.updated_at, row.price)
            for m, row in listings_of(db_session, spam_product(1)["source_id"]).items()
        }
        assert after == before  # not a column written
        assert history_count(db_session) == records
        view = jobs.job_view(db_session, again)
        assert view.outcomes == {"unchanged": 2}
        assert view.analysis == {"ok": 2, "warning": 0, "blocked": 0}

    def test_a_changed_offer_prices_again_but_does_not_normalize_again(self, db_session):
        run_pipeline(db_session, new_job(db_session, [spam_product(1)]))
        normalized_at = db_session.scalar(select(Product.normalize_key))
        records = history_count(db_session)

        cheaper = spam_product(1, cost="800")
        again = new_job(db_session, [cheaper])
        for number in jobs.begin_job(db_session, again):
            product_import.import_chunk(db_session, again, number, next_stage=stages.NORMALIZE)
        assert normalize_first_chunk(db_session, again).skipped == 1
        priced = price_first_chunk(db_session, again)
        assert priced.skipped == 0
        run_stages(db_session, again)

        assert db_session.scalar(select(Product.normalize_key)) == normalized_at
        assert history_count(db_session) == records + 3
        assert listings_of(db_session, cheaper["source_id"])["ebay_de"].price < Decimal("306.99")
        assert jobs.job_view(db_session, again).outcomes == {"updated": 1}

    def test_a_new_profile_prices_again(self, db_session):
        run_pipeline(db_session, new_job(db_session, [spam_product(1)]))
        db_session.add(
            PricingProfileRow(name="markup", strategy="markup_cost", currency="EUR", markup_percent=50)
        )
        db_session.flush()

        run_pipeline(db_session, new_job(db_session, [spam_product(1)], pricing_profile="markup"))

        listing = listings_of(db_session, spam_product(1)["source_id"])["ebay_de"]
        assert listing.price == Decimal("399.01")  # 950 PLN = 223.53 EUR, +50% = 335.30 net, +19% VAT


class TestFailures:
    def test_a_redelivered_stage_message_changes_nothing(self, db_session):
        job_id = new_job(db_session, [spam_product(1)])
        for number in jobs.begin_job(db_session, job_id):
            product_import.import_chunk(db_session, job_id, number, next_stage=stages.NORMALIZE)
        assert normalize_first_chunk(db_session, job_id).product_ids
        again = normalize_first_chunk(db_session, job_id)
        assert (again.product_ids, again.skipped, again.failed_source_ids) == ([], 0, [])
        price_first_chunk(db_session, job_id)
        price_first_chunk(db_session, job_id)
        assert history_count(db_session) == 3

    def test_a_product_deleted_mid_job_fails_with_the_reason(self, db_session):
        job_id = new_job(db_session, [spam_product(1), spam_product(2)])
        for number in jobs.begin_job(db_session, job_id):
            product_import.import_chunk(db_session, job_id, number, next_stage=stages.NORMALIZE)
        db_session.delete(
            db_session.scalar(select(Product).where(Product.source_id == spam_product(2)["source_id"]))
        )
        db_session.flush()

        run_stages(db_session, job_id)

        assert jobs.finish_if_done(db_session, job_id) == "completed_with_errors"
        (error,) = jobs.job_view(db_session, job_id).errors
        assert (error.stage, error.error) == (
            "normalize",
            "the product was deleted before its normalize stage",
        )

    def test_a_profile_deleted_since_the_job_was_accepted_fails_its_products_at_price(self, db_session):
        db_session.add(PricingProfileRow(name="gone", strategy="markup_cost", currency="EUR"))
        db_session.flush()
        job_id = new_job(db_session, [spam_product(1)], pricing_profile="gone")
        db_session.delete(
            db_session.scalar(select(PricingProfileRow).where(PricingProfileRow.name == "gone"))
        )
        db_session.flush()

        assert run_pipeline(db_session, job_id) == "completed_with_errors"
        (error,) = jobs.job_view(db_session, job_id).errors
        assert (error.stage, error.field) == ("price", "options.pricing_profile")

    def test_a_chunk_whose_stage_gave_up_fails_its_items_and_the_job_ends(self, db_session):
        job_id = new_job(db_session, [spam_product(1), spam_product(2)])
        for number in jobs.begin_job(db_session, job_id):
            product_import.import_chunk(db_session, job_id, number, next_stage=stages.NORMALIZE)
        assert jobs.waiting_stage_chunks(db_session, job_id) == [("normalize", 0)]

        assert (
            fail_items(db_session, job_id, 0, stages.NORMALIZE, reason="normalize failed after 8 attempts")
            == 2
        )

        assert jobs.waiting_stage_chunks(db_session, job_id) == []
        assert jobs.finish_if_done(db_session, job_id) == "completed_with_errors"

    def test_a_price_that_moves_too_far_is_proposed_not_applied(self, db_session):
        run_pipeline(db_session, new_job(db_session, [spam_product(1)]))
        halved = spam_product(1, price="649,99 zł", cost="300")
        run_pipeline(db_session, new_job(db_session, [halved]))

        listing = listings_of(db_session, halved["source_id"])["ebay_de"]
        assert listing.price_status == "needs_review"
        assert listing.price == Decimal("306.99")  # the last applied price stays
        assert listing.proposed_price < Decimal("150")


class TestRules:
    def test_a_block_rule_blocks_and_the_job_counts_it(self, db_session):
        db_session.add(
            RuleRow(
                name="no Sony on Kaufland", type="product", action="block", weight=10,
                conditions={"all": [{"field": "brand", "op": "eq", "value": "sony"},
                                    {"field": "marketplace", "op": "eq", "value": "kaufland_de"}]},
            )
        )  # fmt: skip
        db_session.flush()
        job_id = new_job(db_session, [spam_product(1), product(2, brand="Bosch")])

        run_pipeline(db_session, job_id)

        listings = listings_of(db_session, spam_product(1)["source_id"])
        assert listings["kaufland_de"].evaluation == "blocked"
        assert listings["ebay_de"].evaluation == "ok"
        assert listings["kaufland_de"].rules["fired"][0]["name"] == "no Sony on Kaufland"
        assert db_session.scalar(select(Product.evaluation).where(Product.brand == "Sony")) == "blocked"
        assert jobs.job_view(db_session, job_id).analysis == {"ok": 1, "warning": 0, "blocked": 1}

    def test_a_changed_rule_scores_again_on_reimport(self, db_session):
        run_pipeline(db_session, new_job(db_session, [spam_product(1)]))
        db_session.add(
            RuleRow(name="low quality", type="quality", action="warn", weight=1,
                    conditions={"field": "quality_score", "op": "lt", "value": 101})
        )  # fmt: skip
        db_session.flush()

        job_id = new_job(db_session, [spam_product(1)])
        run_pipeline(db_session, job_id)

        assert jobs.job_view(db_session, job_id).analysis == {"ok": 0, "warning": 1, "blocked": 0}
        assert db_session.get(ImportJob, job_id).status == "completed"
        items = db_session.scalars(select(JobItem.evaluation).where(JobItem.job_id == job_id)).all()
        assert items == ["warning"]


@pytest.mark.parametrize("marketplace", MARKETPLACES)
def test_titles_pass_each_marketplace(db_session, marketplace):
    from services.marketplaces import check_title

    run_pipeline(db_session, new_job(db_session, [spam_product(1, title="A" * 30 + " " + "słowo " * 40)]))
    listing = listings_of(db_session, spam_product(1)["source_id"])[marketplace]
    assert check_title(listing.title, marketplace) == []


def test_an_unreadable_price_is_a_warning_in_the_jobs_errors(db_session):
    job_id = new_job(db_session, [spam_product(1, price="zapytaj sprzedawcę"), product(2)])

    assert run_pipeline(db_session, job_id) == "completed"

    view = jobs.job_view(db_session, job_id)
    assert (view.processed_products, view.failed_products) == (2, 0)
    (warning,) = view.errors
    where = (warning.source_id, warning.stage, warning.field)
    assert where == (spam_product(1)["source_id"], "import", "price")
    assert warning.error.startswith("warning: not a number: 'zapytaj sprzedawcę'")

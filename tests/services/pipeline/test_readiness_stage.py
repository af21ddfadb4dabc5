"""The score stage says, for every listing, whether it may go out and why not; the job counts them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Listing, Product
from services.pipeline import jobs
from services.products.queries import ProductFilters, list_products
from services.rules import store as rule_store
from tests.support.ai import groq_copywriter, translated
from tests.support.factories import spam_product
from tests.support.fake_groq import FakeGroq
from tests.support.jobs import new_job
from tests.support.pipeline import COPY, run_pipeline

GERMAN_AND_POLISH = ["amazon_de", "ebay_de", "kaufland_de", "allegro_pl"]
VALID_EAN = "4548736112100"
SOURCE_ID = spam_product(1)["source_id"]


def listings(session, source_id: str = SOURCE_ID) -> dict[str, Listing]:
    session.expire_all()  # the stages write with SQL of their own
    product_id = session.scalar(select(Product.id).where(Product.source_id == source_id))
    rows = session.scalars(select(Listing).where(Listing.product_id == product_id))
    return {row.marketplace: row for row in rows}


def codes(listing: Listing) -> list[str]:
    return [blocker["code"] for blocker in listing.blockers or []]


@pytest.fixture
def fake():
    with FakeGroq() as server:
        server.set_default("good", answer=translated)  # German for *_de, Polish for *_pl
        yield server


class TestWithoutAi:
    """No Groq key (scripts/dev's default): the copy is the Polish source's."""

    @pytest.fixture
    def job_id(self, db_session):
        job_id = new_job(db_session, [spam_product(1, ean=VALID_EAN)], marketplaces=GERMAN_AND_POLISH)
        assert run_pipeline(db_session, job_id) == "completed"
        return job_id

    def test_a_polish_product_is_not_publishable_on_german_marketplaces_and_says_why(
        self, db_session, job_id
    ):
        rows = listings(db_session)
        for marketplace in ("amazon_de", "ebay_de", "kaufland_de"):
            assert rows[marketplace].publishable is False
            assert codes(rows[marketplace]) == ["language"]
            assert rows[marketplace].language == "pl"
            (blocker,) = rows[marketplace].blockers or []
            assert "lists in German: its description is in Polish" in blocker["message"]
        assert rows["allegro_pl"].language == "pl"
        assert rows["allegro_pl"].publishable is True
        assert rows["allegro_pl"].blockers == []

    def test_the_wrong_language_costs_quality_points(self, db_session, job_id):
        rows = listings(db_session)
        fixes = (rows["ebay_de"].quality or {})["fixes"]
        assert any(fix.startswith("description in Polish, eBay.de lists in German") for fix in fixes)

    def test_the_job_counts_publishable_listings_per_marketplace(self, db_session, job_id):
        readiness = jobs.job_view(db_session, job_id).readiness
        assert readiness["allegro_pl"].model_dump() == {
            "publishable": 1,
            "not_publishable": 0,
            "blockers": {},
        }
        assert readiness["ebay_de"].model_dump() == {
            "publishable": 0,
            "not_publishable": 1,
            "blockers": {"language": 1},
        }

    def test_products_filter_on_publishable_and_ai_status(self, db_session, job_id):
        def found(**filters):
            _items, total = list_products(
                db_session, ProductFilters(job_id=job_id, **filters), page=1, page_size=10
            )
            return total

        assert found(publishable=True, marketplace="allegro_pl") == 1
        assert found(publishable=True, marketplace="ebay_de") == 0
        assert found(publishable=False, marketplace="ebay_de") == 1
        assert found(publishable=True) == 1  # on any marketplace
        assert found(ai_status="deterministic") == 1
        assert found(ai_status="optimized") == 0


def test_german_copy_from_the_model_makes_the_listing_publishable(db_session, fake):
    job_id = new_job(db_session, [spam_product(1, ean=VALID_EAN)], marketplaces=["ebay_de", "allegro_pl"])

    run_pipeline(db_session, job_id, copywriter=groq_copywriter(fake, model=COPY.model))

    rows = listings(db_session)
    assert rows["ebay_de"].ai_status == "optimized"
    assert (rows["ebay_de"].language, rows["ebay_de"].publishable) == ("de", True)
    assert (rows["allegro_pl"].language, rows["allegro_pl"].publishable) == ("pl", True)


def test_ai_copy_asked_for_and_not_obtained_blocks_with_the_reason(db_session, fake):
    fake.set_default("500")
    job_id = new_job(db_session, [spam_product(1, ean=VALID_EAN)], marketplaces=["allegro_pl"], optimize=True)

    run_pipeline(db_session, job_id, copywriter=groq_copywriter(fake, model=COPY.model, max_wait=0.5))

    (blocker,) = listings(db_session)["allegro_pl"].blockers or []
    assert blocker["code"] == "copy"
    assert blocker["message"].startswith(
        "the job asked for AI copy and this listing has none: AI unavailable"
    )


def test_a_block_rule_blocks_naming_it_and_a_rule_may_test_the_language(db_session):
    rule_store.create_rule(
        db_session,
        {
            "name": "German copy only",
            "type": "quality",
            "action": "block",
            "conditions": {"field": "language_matches", "op": "eq", "value": False},
        },
    )
    job_id = new_job(db_session, [spam_product(1, ean=VALID_EAN)], marketplaces=["ebay_de", "allegro_pl"])

    run_pipeline(db_session, job_id)

    rows = listings(db_session)
    assert codes(rows["ebay_de"]) == ["language", "rules"]
    assert (rows["ebay_de"].blockers or [])[1]["message"] == "blocked by your rule 'German copy only'"
    assert codes(rows["allegro_pl"]) == []


def test_missing_ean_and_images_block_where_the_marketplace_needs_them(db_session):
    product = spam_product(1, ean=None, images=[])
    job_id = new_job(db_session, [product], marketplaces=["kaufland_de", "allegro_pl"])

    run_pipeline(db_session, job_id)

    rows = listings(db_session)
    assert codes(rows["kaufland_de"]) == ["language", "missing", "missing"]
    assert codes(rows["allegro_pl"]) == ["missing"]  # an image; Allegro needs no EAN

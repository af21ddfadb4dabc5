"""The price stage with VAT, the one margin, the competitors' marketplaces and bare numbers; what the
score stage makes of the floor and the margin."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from models import Listing, PriceRecord, PricingProfileRow, Product
from services.marketplaces import MARKETPLACES
from services.pipeline import jobs
from services.pipeline.stages import import_ as product_import
from services.pipeline.stages.normalize import normalize_chunk
from services.pipeline.stages.optimize import NO_KEY
from services.pipeline.stages.price import price_chunk, with_rates_age
from services.pipeline.stages.score import NO_RULES, listing_state, rule_facts
from services.pricing import PriceDecision, margin_percent
from services.scoring import DEFAULT_WEIGHTS, facts_from_normalized, score_listing
from tests.support.factories import spam_product
from tests.support.jobs import new_job
from tests.support.pipeline import RATES, price_settings, run_pipeline

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "allegro_batch.json"
EVERY_MARKETPLACE = list(MARKETPLACES)


def listings_of(session, source_id: str) -> dict[str, Listing]:
    session.expire_all()  # the stages write with SQL of their own
    product_id = session.scalar(select(Product.id).where(Product.source_id == source_id))
    return {
        row.marketplace: row
        for row in session.scalars(select(Listing).where(Listing.product_id == product_id))
    }


def record_of(session, source_id: str, marketplace: str) -> PriceRecord:
    """The latest price decision of the product on the marketplace."""
    product_id = session.scalar(select(Product.id).where(Product.source_id == source_id))
    query = select(PriceRecord).where(
        PriceRecord.product_id == product_id, PriceRecord.marketplace == marketplace
    )
    record: PriceRecord = session.scalars(query.order_by(PriceRecord.id.desc())).first()
    return record


def add_profile(session, name: str, **values) -> None:
    session.add(PricingProfileRow(name=name, currency="EUR", **values))
    session.flush()


def cost_in(product: Product, currency: str) -> Decimal:
    assert product.cost is not None
    return RATES.convert(product.cost, product.currency or "PLN", currency)


class TestTheDefaultProfile:
    def test_the_sample_batch_is_never_priced_below_cost_fee_and_vat(self, db_session):
        batch = json.loads(SAMPLES.read_text())
        job_id = new_job(db_session, batch, marketplaces=EVERY_MARKETPLACE)

        run_pipeline(db_session, job_id)

        view = jobs.job_view(db_session, job_id)
        assert {(e.stage, e.field) for e in view.errors} == {
            ("import", "title"),
            ("import", "images"),
            ("import", "price"),  # "zapytaj sprzedawcę": a warning, the product imported without a price
        }
        (warning,) = [e for e in view.errors if e.field == "price"]
        assert warning.error.startswith("warning: not a number: 'zapytaj sprzedawcę'")
        priced = 0
        for product in db_session.scalars(select(Product)):
            for listing in listings_of(db_session, product.source_id).values():
                price = listing.price if listing.price is not None else listing.proposed_price
                if price is None:
                    continue
                priced += 1
                vat, fee, currency = listing.vat_percent, listing.fee_percent, listing.currency
                assert vat is not None
                assert fee is not None
                assert currency is not None
                cost = cost_in(product, currency)
                # margin ≥ 0 is price − VAT − fee ≥ cost: what the seller keeps pays the cost
                kept = price / (1 + vat / 100) - price * fee / 100
                assert kept >= cost, (product.source_id, listing.marketplace, price)
                margin = margin_percent(price, cost, fee, vat)
                assert margin is not None
                assert margin >= 0
                assert listing.floor is not None
                assert price >= listing.floor
        assert priced > 200

    def test_a_cost_above_every_competitor_raises_the_price_to_the_floor(self, db_session):
        dear = spam_product(1, cost="2000")  # 2 000 PLN, and competitors at 1 249 and 1 299
        run_pipeline(db_session, new_job(db_session, [dear], marketplaces=["allegro_pl", "ebay_de"]))

        listings = listings_of(db_session, dear["source_id"])
        # 2 000 × 1.23 / (1 − 0.10 × 1.23) = 2 805,02 PLN; 470,59 EUR × 1.19 / (1 − 0.11 × 1.19) = 644,35
        assert (listings["allegro_pl"].floor, listings["allegro_pl"].price) == (
            Decimal("2805.02"),
            Decimal("2805.99"),
        )
        assert (listings["ebay_de"].floor, listings["ebay_de"].price) == (
            Decimal("644.35"),
            Decimal("644.99"),
        )
        assert all(listing.price_status == "priced" for listing in listings.values())

    def test_the_unreadable_sample_price_is_imported_and_priced_on_allegro(self, db_session):
        batch = [p for p in json.loads(SAMPLES.read_text()) if p.get("price") == "zapytaj sprzedawcę"]
        run_pipeline(db_session, new_job(db_session, batch, marketplaces=["allegro_pl", "amazon_de"]))

        listings = listings_of(db_session, batch[0]["source_id"])
        assert listings["allegro_pl"].price_status == "priced"
        assert listings["amazon_de"].price_status == "no_price"
        assert (
            "the profile uses only the marketplace's own offers"
            in (record_of(db_session, batch[0]["source_id"], "amazon_de").decision["reasons"][0])
        )


class TestOtherMarketplacesOffers:
    def test_allegro_offers_price_amazon_de_only_when_the_profile_says_so(self, db_session):
        cheap = spam_product(1, cost="100")
        run_pipeline(db_session, new_job(db_session, [cheap], marketplaces=["amazon_de"]))
        by_default = listings_of(db_session, cheap["source_id"])["amazon_de"].price
        assert (
            record_of(db_session, cheap["source_id"], "amazon_de").decision["strategy_used"]
            == "markup_source"
        )

        add_profile(db_session, "everywhere", strategy="follow_lowest", use_other_marketplaces=True)
        run_pipeline(
            db_session, new_job(db_session, [cheap], marketplaces=["amazon_de"], pricing_profile="everywhere")
        )

        listing = listings_of(db_session, cheap["source_id"])["amazon_de"]
        # 1 249 PLN without 23 % VAT = 1 015,45 PLN = 238,93 EUR net, with 19 % = 284,33 EUR
        assert (by_default, listing.price) == (Decimal("294.99"), Decimal("284.33"))
        steps = record_of(db_session, cheap["source_id"], "amazon_de").decision["steps"]
        assert steps[1] == "offers of other marketplaces count, as the profile allows: 2 seen on Allegro"
        assert "= 1 015,45 PLN net of VAT 23% (PL)" in steps[2]


class TestBareNumbers:
    def test_a_product_naming_no_currency_is_read_in_its_sources(self, db_session):
        bare = spam_product(
            1,
            price=1299.99,
            currency=None,
            cost=950,
            competitors=[{"seller": "a", "price": 1249.0, "url": "https://allegro.pl/oferta/x-1"}],
        )
        run_pipeline(db_session, new_job(db_session, [bare], marketplaces=["allegro_pl", "ebay_de"]))

        steps = record_of(db_session, bare["source_id"], "ebay_de").decision["steps"]
        assert steps[0] == (
            "currency PLN assumed: the product names no currency; its numbers are read in allegro's"
            " (SOURCE_CURRENCIES)"
        )
        assert "source price 1 299,99 PLN incl. VAT 23% (PL)" in steps[2]
        allegro = record_of(db_session, bare["source_id"], "allegro_pl")
        assert allegro.competitors[0]["currency"] == "PLN"  # never 1 249 EUR
        assert allegro.competitors[0]["marketplace"] == "allegro_pl"
        # The rules read the cost in the same currency: their margin is the explanation's.
        product = db_session.scalar(select(Product))
        assert product.currency is None
        facts = facts_from_normalized(product.normalized, "ebay_de", attribute_count=len(product.attributes))
        row = SimpleNamespace(
            source_platform="allegro", cost=product.cost, currency=None, stock=1, competitors_count=1
        )
        listing = listings_of(db_session, bare["source_id"])["ebay_de"]
        rules = rule_facts(
            row,
            listing,
            facts,
            score_listing(facts, DEFAULT_WEIGHTS),
            RATES,
            price_settings()["source_currencies"],
        )
        decision = record_of(db_session, bare["source_id"], "ebay_de").decision
        assert rules["margin_percent"] == Decimal(decision["margin_percent"])
        # Priced as the same product with its currency named.
        listings = listings_of(db_session, bare["source_id"])
        assert (listings["ebay_de"].price, listings["allegro_pl"].price) == (
            Decimal("306.99"),
            Decimal("1332.99"),
        )


class TestVatRates:
    def test_a_reduced_rate_of_the_profile_for_the_category(self, db_session):
        add_profile(
            db_session, "books", strategy="markup_cost", category_vat_rates={"DE": {"Słuchawki": "7"}}
        )
        headphones = spam_product(1, category="Elektronika > RTV > Słuchawki")
        run_pipeline(
            db_session, new_job(db_session, [headphones], marketplaces=["ebay_de"], pricing_profile="books")
        )

        listing = listings_of(db_session, headphones["source_id"])["ebay_de"]
        assert listing.vat_percent == Decimal(7)
        assert listing.price == Decimal("239.18")  # 950 PLN = 223,53 EUR net, with 7 %
        steps = record_of(db_session, headphones["source_id"], "ebay_de").decision["steps"]
        assert "with VAT 7% (DE, reduced for Słuchawki) → 239,18 EUR" in steps

    def test_a_country_without_a_rate_fails_its_listing_saying_so(self, db_session):
        job_id = new_job(db_session, [spam_product(1)], marketplaces=["allegro_pl"])
        for number in jobs.begin_job(db_session, job_id):
            product_import.import_chunk(db_session, job_id, number, next_stage="normalize")
        normalize_chunk(db_session, job_id, 0, marketplaces=["allegro_pl"], deterministic_reason=NO_KEY)

        price_chunk(
            db_session, job_id, 0, marketplaces=["allegro_pl"], profile_name=None, rates=RATES,
            vat_rates={"DE": Decimal(19)}, source_currencies={},
        )  # fmt: skip

        (error,) = jobs.job_view(db_session, job_id).errors
        assert (error.stage, error.field, error.error) == (
            "price",
            "price.allegro_pl",
            "no VAT rate for PL: set VAT_RATES",
        )


class TestWhatTheScoreStageReads:
    def test_the_rules_margin_is_the_explanations(self, db_session):
        run_pipeline(db_session, new_job(db_session, [spam_product(1, cost="700")], marketplaces=["ebay_de"]))
        product = db_session.scalar(select(Product))
        listing = listings_of(db_session, product.source_id)["ebay_de"]
        facts = facts_from_normalized(product.normalized, "ebay_de", attribute_count=len(product.attributes))
        row = SimpleNamespace(
            source_platform=product.source_platform, cost=product.cost, currency=product.currency,
            stock=product.stock, competitors_count=len(product.competitors),
        )  # fmt: skip

        facts_for_rules = rule_facts(
            row,
            listing,
            facts,
            score_listing(facts, DEFAULT_WEIGHTS),
            RATES,
            price_settings()["source_currencies"],
        )

        decision = record_of(db_session, product.source_id, "ebay_de").decision
        assert facts_for_rules["margin_percent"] == Decimal(decision["margin_percent"]) == Decimal("20.47")
        assert any(step.startswith("margin 20,47% of the net price") for step in decision["steps"])

    def test_a_price_held_while_the_applied_one_is_below_the_new_floor_says_both(self, db_session):
        first = spam_product(1, price="649,99 zł", cost="300")
        run_pipeline(db_session, new_job(db_session, [first], marketplaces=["ebay_de"]))
        applied = listings_of(db_session, first["source_id"])["ebay_de"].price

        dearer = spam_product(1, cost="950")  # the floor rises past the allowed 20 % change
        run_pipeline(db_session, new_job(db_session, [dearer], marketplaces=["ebay_de"]))

        listing = listings_of(db_session, first["source_id"])["ebay_de"]
        assert (listing.price_status, listing.price, listing.floor) == (
            "needs_review",
            applied,
            Decimal("306.07"),
        )
        (price_blocker,) = [b for b in listing.blockers or [] if b["code"] == "price"]
        assert price_blocker["message"].startswith("price held for review (proposed, not applied)")
        assert price_blocker["message"].endswith("the price applied now is below the floor of 306,07 EUR")

    def test_an_applied_price_below_its_floor_is_a_price_blocker(self):
        below = SimpleNamespace(
            price=Decimal("299.99"), floor=Decimal("306.07"), currency="EUR", price_status="priced",
            proposed_price=None, ai_status=None, ai_reason=None,
        )  # fmt: skip
        state = listing_state(below, NO_RULES, "de", "de", copy_required=False)
        assert state.below_floor == "306,07 EUR"
        at_floor = SimpleNamespace(**{**vars(below), "price": Decimal("306.07")})
        assert listing_state(at_floor, NO_RULES, "de", "de", copy_required=False).below_floor is None


class TestOldRates:
    """A decision that converted with rates older than EXCHANGE_RATES_MAX_AGE_DAYS says so; the job
    goes on."""

    def test_a_conversion_with_old_rates_says_how_old_they_are(self):
        decision = PriceDecision(
            price=Decimal("10.00"), currency="EUR", status="priced", strategy_used="markup_cost",
            floor=None, competitors=[], steps=["cost 42,50 PLN = 10,00 EUR at 4,25 PLN/EUR"],
            rates_as_of=date(2026, 11, 20), rates_used=True,
        )  # fmt: skip
        noted = with_rates_age(decision, 3, date(2026, 12, 6))
        assert noted.steps[-1].startswith("the exchange rates of 2026-11-20 are 16 days old (more than 3)")
        assert noted.status == "priced"  # a warning in the explanation, not a held price
        assert with_rates_age(decision, 3, date(2026, 11, 23)) == decision  # 3 days: fresh enough
        unconverted = replace(decision, rates_used=False)
        assert with_rates_age(unconverted, 3, date(2026, 12, 6)) == unconverted  # no rate was used

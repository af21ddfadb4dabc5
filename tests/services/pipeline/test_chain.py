"""normalize → price → score back to back in one run (services.pipeline.stages.chain), over real Postgres:
the same rows as the stages one by one, each item's stage recorded, payloads read only when needed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import psycopg
import pytest
from sqlalchemy import select, text

from models import ItemStatus, JobItem, Listing, PriceRecord, Product, stages
from services import pricing
from services.pipeline import jobs
from services.pipeline.stages import chain
from services.pipeline.stages import import_ as product_import
from services.pipeline.stages import price as price_stage
from services.pipeline.stages import score as score_stage
from services.pipeline.stages.normalize import normalize_chunk, normalize_step
from services.pipeline.stages.optimize import NO_KEY
from services.pipeline.stages.price import price_chunk, price_step
from services.pipeline.stages.score import score_chunk, score_step
from services.rules import store as rule_store
from services.scoring import DEFAULT_WEIGHTS
from services.scoring.score import PartScore, QualityScore
from tests.support.factories import product, spam_product
from tests.support.jobs import new_job
from tests.support.pipeline import DETECTOR, RATES, price_settings

MARKETPLACES = ("amazon_de", "ebay_de", "kaufland_de")
LISTING_COLUMNS = (
    "title", "description_html", "ai_status", "ai_reason", "price", "currency", "price_status",
    "proposed_price", "floor", "vat_percent", "fee_percent", "quality_score", "grade", "quality",
    "evaluation", "rules", "language", "publishable", "blockers",
)  # fmt: skip


def imported(session, products: list[dict[str, Any]]):
    job_id = new_job(session, products, marketplaces=list(MARKETPLACES))
    for number in jobs.begin_job(session, job_id):
        product_import.import_chunk(session, job_id, number, next_stage=stages.NORMALIZE)
    return job_id


def steps(session, job_id):
    return [
        normalize_step(marketplaces=MARKETPLACES, deterministic_reason=NO_KEY),
        price_step(
            job_id=job_id, marketplaces=MARKETPLACES, profile_name=None, rates=RATES, **price_settings()
        ),
        score_step(
            marketplaces=MARKETPLACES, rules=rule_store.enabled_rules(session), weights=DEFAULT_WEIGHTS,
            rates=RATES, detector=DETECTOR, source_currencies=price_settings()["source_currencies"],
        ),
    ]  # fmt: skip


def run_chain(session, job_id):
    return chain.run_steps(
        session, job_id, 0, steps(session, job_id), marketplaces=MARKETPLACES, optimize=False
    )


def run_one_by_one(session, job_id):
    normalize_chunk(session, job_id, 0, marketplaces=MARKETPLACES, deterministic_reason=NO_KEY)
    price_chunk(
        session, job_id, 0, marketplaces=MARKETPLACES, profile_name=None, rates=RATES, **price_settings()
    )
    score_chunk(
        session, job_id, 0, marketplaces=MARKETPLACES, rules=rule_store.enabled_rules(session),
        weights=DEFAULT_WEIGHTS, rates=RATES, detector=DETECTOR,
        source_currencies=price_settings()["source_currencies"],
    )  # fmt: skip


def stored(session, source_id: str) -> dict[str, Any]:
    """What the stages wrote for a product: its row's stage columns, its listings, its price history."""
    row = session.scalar(select(Product).where(Product.source_id == source_id))
    listings = session.scalars(select(Listing).where(Listing.product_id == row.id)).all()
    history = session.scalars(select(PriceRecord).where(PriceRecord.product_id == row.id)).all()
    return {
        "product": (
            row.status, row.normalized_title, row.normalized_brand, row.model, row.category_path,
            row.specifications, row.normalized, row.optimization_score, row.evaluation,
        ),
        "listings": {
            listing.marketplace: tuple(getattr(listing, c) for c in LISTING_COLUMNS) for listing in listings
        },
        "history": sorted(
            (record.marketplace, record.price, record.status, record.outliers, record.competitors)
            for record in history
        ),
    }  # fmt: skip


def test_one_run_writes_what_the_stages_write_one_by_one(db_session):
    """Twin products (the same scrape under two source ids): one through the chain, one through each
    stage alone, each stage's own read and write. Every column they write is alike."""
    products = [spam_product(1), product(2), product(3, competitors=[], cost=None)]
    twins = [{**p, "source_id": f"{p['source_id']}-twin"} for p in products]
    run_chain(db_session, imported(db_session, products))
    run_one_by_one(db_session, imported(db_session, twins))

    for original, twin in zip(products, twins, strict=True):
        assert stored(db_session, original["source_id"]) == stored(db_session, twin["source_id"])
    assert stored(db_session, products[0]["source_id"])["product"][0] == "scored"


def test_items_pass_every_stage_at_once_and_each_failure_stays_at_its_stage(db_session, monkeypatch):
    unlucky = product(2, price="1111.11")
    engine = pricing.price_per_fee

    def price_per_fee(inp, *args, **kwargs):  # a bug that pricing this one product hits
        if inp.source_price == Decimal("1111.11"):
            raise RuntimeError("a bug")
        return engine(inp, *args, **kwargs)

    monkeypatch.setattr(price_stage, "price_per_fee", price_per_fee)
    job_id = imported(db_session, [product(1), unlucky])

    results = run_chain(db_session, job_id)

    passed = [len(results[s].product_ids) for s in (stages.NORMALIZE, stages.PRICE, stages.SCORE)]
    assert passed == [2, 1, 1]
    rows = db_session.scalars(select(JobItem).where(JobItem.job_id == job_id))
    items = {item.source_id: item for item in rows}
    good, bad = items[product(1)["source_id"]], items[unlucky["source_id"]]
    assert (good.stage, good.status, good.evaluation) == (stages.SCORE, ItemStatus.DONE, "ok")
    assert (bad.stage, bad.status) == (stages.PRICE, ItemStatus.FAILED)
    assert {error["error"] for error in bad.errors} == {"pricing failed (RuntimeError)"}
    # normalize's work on the failed product is kept: it passed that stage
    assert stored(db_session, unlucky["source_id"])["product"][0] == "normalized"
    counts = jobs.count_items(db_session, job_id, 2)
    assert counts.stages[stages.NORMALIZE].done == 2
    assert (counts.stages[stages.PRICE].done, counts.stages[stages.PRICE].failed) == (1, 1)


def test_unchanged_products_are_read_by_their_keys_only(db_session, monkeypatch):
    products = [product(n) for n in range(4)]
    run_chain(db_session, imported(db_session, products))
    changed = {**products[2], "title": products[2]["title"] + " Neu"}
    reads: list[tuple[str, str, list[int]]] = []
    read = chain.read_records

    def spy(session, table, columns, ids, marketplaces):
        reads.append((table, columns, list(ids)))
        return read(session, table, columns, ids, marketplaces)

    monkeypatch.setattr(chain, "read_records", spy)

    again = imported(db_session, [*products[:2], changed, products[3]])
    results = run_chain(db_session, again)

    payload_reads = [ids for table, columns, ids in reads if "attributes" in columns]
    changed_id = db_session.scalar(select(Product.id).where(Product.source_id == changed["source_id"]))
    assert payload_reads == [[changed_id]]  # the three unchanged ones: keys only
    assert results[stages.NORMALIZE].skipped == 3
    assert len(results[stages.SCORE].product_ids) == 4
    states = db_session.scalars(select(JobItem.status).where(JobItem.job_id == again)).all()
    assert states == [ItemStatus.DONE] * 4


def test_a_listing_inserted_meanwhile_fails_the_run_and_the_retry_merges_it(db_session, monkeypatch):
    """A fresh product's listings are COPYed straight in; if another job's run inserted one between
    this run's read and its write, the COPY fails (nothing of the run is kept) and the retry merges."""
    job_id = imported(db_session, [product(1)])
    db_session.commit()
    write = chain._write

    def another_job_first(session, job, rows):
        product_id = next(iter(rows.products))
        session.execute(
            text(
                "INSERT INTO product_listings (product_id, marketplace, title) VALUES (:id, 'ebay_de', 'x')"
            ),
            {"id": product_id},
        )
        write(session, job, rows)

    with monkeypatch.context() as meanwhile:
        meanwhile.setattr(chain, "_write", another_job_first)
        with pytest.raises(psycopg.errors.UniqueViolation):
            run_chain(db_session, job_id)
    db_session.rollback()

    results = run_chain(db_session, job_id)

    assert len(results[stages.SCORE].product_ids) == 1
    listings = db_session.scalars(select(Listing)).all()
    assert {listing.marketplace for listing in listings} == set(MARKETPLACES)
    assert all(listing.quality_score is not None and listing.price is not None for listing in listings)


def test_a_listings_quality_is_stored_as_its_to_json_says():
    quality = QualityScore(
        87, "B", [PartScore("title", 30.5, 40.0, ["title 62 of 80 characters"])], ["a fix (+1 point)"]
    )
    assert orjson.loads(score_stage._dataclass_json(quality)) == quality.to_json()

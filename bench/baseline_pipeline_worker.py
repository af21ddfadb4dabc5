"""The straightforward pipeline, for comparison: `dramatiq bench.baseline_pipeline_worker`.

It consumes the same `pipeline.import_job` messages as the real worker, from the same queue, but does
what a first version would: one Dramatiq message per product per stage (import, normalize, price,
score), each doing its own ORM read and write and its own commit. It calls the same pure services
(validation, normalize_product, price_product, score_listing, evaluate) as the product, so the
comparison measures the design, not the algorithms. Used only by bench/pipeline_throughput.py.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import dramatiq
import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bench.baseline_orm import import_one
from models import (
    ChunkStatus,
    ImportJob,
    ItemStatus,
    JobChunk,
    JobItem,
    JobStatus,
    Listing,
    PriceRecord,
    Product,
    ProductStatus,
    stages,
)
from services.imports.intake import split_body
from services.imports.product import ProductIn
from services.marketplaces import rules_for
from services.normalize import normalize_product
from services.pipeline import jobs
from services.pipeline.stages.score import NO_RULES, rule_facts
from services.platform.settings import get_settings
from services.pricing import CompetitorOffer, PriceInput, in_currency, price_product, product_vat_rates
from services.pricing.store import find_profile, marketplace_fee, profile_from_row
from services.rules import evaluate, worst
from services.rules import store as rule_store
from services.scoring import facts_from_normalized, score_listing
from workers.broker import QUEUE, broker
from workers.context import stage_context
from workers.db import session_scope


def _item(session: Session, job_id: uuid.UUID, position: int) -> JobItem:
    item = session.get(JobItem, (job_id, position))
    assert item is not None
    return item


def _plan(session: Session, job_id: uuid.UUID) -> jobs.JobPlan:
    return jobs.job_plan(session, job_id)


def _finish(job_id: uuid.UUID) -> None:
    """Close the job when its last item is done, with two cheap checks first (not a GROUP BY per
    product, which would make the baseline slower than a sensible first version). In a transaction
    of its own after the product's commit, so that the last two products cannot each miss the other."""
    with session_scope() as session:
        _finish_in(session, job_id)


def _finish_in(session: Session, job_id: uuid.UUID) -> None:
    total = session.scalar(select(ImportJob.total_products).where(ImportJob.id == job_id))
    items = session.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job_id))
    pending = session.scalar(
        select(JobItem.position)
        .where(JobItem.job_id == job_id, JobItem.status == ItemStatus.PENDING)
        .limit(1)
    )
    if items == total and pending is None:
        jobs.finish_if_done(session, job_id)


@dramatiq.actor(actor_name="pipeline.import_job", queue_name=QUEUE, broker=broker)
def import_job(job_id: str) -> None:
    key = uuid.UUID(job_id)
    with session_scope() as session:
        job = session.get(ImportJob, key)
        assert job is not None
        job.status, job.started_at = JobStatus.RUNNING, func.now()
        split_body(session, key)  # the webhook's stored products, as job_chunks
        chunks = session.execute(
            select(JobChunk.first_position, JobChunk.products).where(JobChunk.job_id == key)
        ).all()
        session.execute(update(JobChunk).where(JobChunk.job_id == key).values(status=ChunkStatus.DONE))
    for first, products in chunks:
        for offset, raw in enumerate(orjson.loads(products)):
            import_product.send(job_id, first + offset, raw)


@dramatiq.actor(actor_name="baseline.import_product", queue_name=QUEUE, broker=broker)
def import_product(job_id: str, position: int, raw: dict[str, Any]) -> None:
    key = uuid.UUID(job_id)
    with session_scope() as session:
        source = session.scalar(select(ImportJob.source).where(ImportJob.id == key))
        assert source is not None
        imported = import_one(
            session, key, source, position, raw, stage=stages.NORMALIZE, status=ItemStatus.PENDING
        )
    if imported:
        normalize_product_message.send(job_id, position)
    else:
        _finish(key)


@dramatiq.actor(actor_name="baseline.normalize_product", queue_name=QUEUE, broker=broker)
def normalize_product_message(job_id: str, position: int) -> None:
    key = uuid.UUID(job_id)
    with session_scope() as session:
        item = _item(session, key, position)
        product = session.get(Product, item.product_id)
        assert product is not None
        marketplaces = _plan(session, key).marketplaces
        normalized = normalize_product(ProductIn.model_validate({
            "source_id": product.source_id, "title": product.title, "description": product.description,
            "brand": product.brand, "category": product.category, "ean": product.ean,
            "images": product.images, "attributes": product.attributes,
        }), marketplaces)  # fmt: skip
        as_json = normalized.to_json()
        product.normalized_title, product.normalized_brand = normalized.title, normalized.brand
        product.model = normalized.model
        product.category_path = " > ".join(normalized.category_path) if normalized.category_path else None
        product.specifications, product.normalized = as_json["specifications"], as_json
        product.status = ProductStatus.NORMALIZED
        for marketplace, title in normalized.marketplace_titles.items():
            listing = session.get(Listing, (product.id, marketplace)) or Listing(
                product_id=product.id, marketplace=marketplace
            )
            listing.title = title
            session.add(listing)
        item.stage = stages.PRICE
    price_product_message.send(job_id, position)


@dramatiq.actor(actor_name="baseline.price_product", queue_name=QUEUE, broker=broker)
def price_product_message(job_id: str, position: int) -> None:
    rates = stage_context().rates
    key = uuid.UUID(job_id)
    with session_scope() as session:
        item = _item(session, key, position)
        product = session.get(Product, item.product_id)
        assert product is not None
        plan = _plan(session, key)
        row = find_profile(session, plan.pricing_profile)
        profile = profile_from_row(row)
        for marketplace in plan.marketplaces:
            currency = rules_for(marketplace).currency
            listing = session.get(Listing, (product.id, marketplace))
            assert listing is not None
            fee = marketplace_fee(row, marketplace)
            decision = price_product(
                PriceInput(
                    source_price=product.price, source_currency=product.currency, cost=product.cost,
                    competitors=[CompetitorOffer(c.get("seller"), Decimal(c["price"]), c.get("currency"),
                                                 c.get("in_stock", True)) for c in product.competitors],
                    last_price=listing.price if listing.currency == currency else None,
                    marketplace_fee_percent=fee,
                    vat=product_vat_rates(
                        get_settings().vat_rates, profile.category_vat_rates,
                        product.category_path or product.category,
                    )[rules_for(marketplace).country],
                    marketplace=marketplace,
                ),
                in_currency(profile, currency, rates),
                rates,
            )  # fmt: skip
            applied = decision.status == "priced"
            if applied:
                listing.price = decision.price
            listing.currency, listing.price_status = currency, decision.status
            listing.proposed_price = None if applied else decision.price
            listing.floor, listing.vat_percent = decision.floor, decision.vat_percent
            listing.fee_percent = fee
            as_json = decision.to_json()
            session.add(
                PriceRecord(product_id=product.id, marketplace=marketplace, job_id=key, price=decision.price,
                            currency=currency, status=decision.status, applied=applied,
                            outliers=sum(o.is_outlier for o in decision.competitors),
                            competitors=as_json.pop("competitors"), decision=as_json)
            )  # fmt: skip
        item.stage = stages.SCORE
    score_product_message.send(job_id, position)


@dramatiq.actor(actor_name="baseline.score_product", queue_name=QUEUE, broker=broker)
def score_product_message(job_id: str, position: int) -> None:
    rates = stage_context().rates
    sources = stage_context().settings.source_currencies
    key = uuid.UUID(job_id)
    with session_scope() as session:
        item = _item(session, key, position)
        product = session.get(Product, item.product_id)
        assert product is not None
        assert product.normalized is not None
        rules = rule_store.enabled_rules(session)
        scores, evaluations = [], []
        for marketplace in _plan(session, key).marketplaces:
            listing = session.get(Listing, (product.id, marketplace))
            facts = facts_from_normalized(
                product.normalized, marketplace, attribute_count=len(product.attributes)
            )
            quality = score_listing(facts, stage_context().weights)
            counted = SimpleNamespace(
                source_platform=product.source_platform, cost=product.cost, currency=product.currency,
                stock=product.stock, competitors_count=len(product.competitors),
            )  # fmt: skip
            evaluation = (
                evaluate(rules, rule_facts(counted, listing, facts, quality, rates, sources))
                if rules
                else NO_RULES
            )
            assert listing is not None
            listing.quality_score, listing.grade = quality.score, quality.grade
            listing.quality, listing.evaluation = quality.to_json(), evaluation.status
            listing.rules = evaluation.to_json()
            scores.append(quality.score)
            evaluations.append(evaluation.status)
        product.optimization_score = round(sum(scores) / len(scores), 1)
        product.evaluation = worst(evaluations)
        product.status = ProductStatus.SCORED
        item.status, item.evaluation = ItemStatus.DONE, product.evaluation
    _finish(key)

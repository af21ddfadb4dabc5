"""The score stage over one chunk: the copy's language, listing quality, the seller's rules and
whether the listing may go out, per product and marketplace.

The seller's enabled rules are read once per chunk. For each product and marketplace whose score key
changed (normalized content, price, copy, rules, weights, the languages told apart and whether the job
asked for AI copy): the language of the listing's title and description (services.normalize.language;
the deterministic copy is the source's text, so it is detected as what it is), then
services.scoring.score_listing gives the quality score, grade and fixes, services.rules.evaluate the
evaluation (ok / warning / blocked) with the rules that fired, and services.scoring.readiness whether
the listing is publishable and its blockers. The product keeps the mean score over the job's
marketplaces (the seed's `optimization_score`) and the worst evaluation; the job item keeps the
evaluation for the job's analysis counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import structlog
from sqlalchemy.orm import Session

from models import ProductStatus, stages
from services.marketplaces import BUILT_IN_LANGUAGES, Languages, rules_for
from services.normalize.language import LanguageDetector
from services.pipeline.bulk import copy_rows, json_text
from services.pipeline.items import (
    ChunkWork,
    ItemError,
    StageResult,
    claim_items,
    product_ids,
    read_listings,
    read_products,
)
from services.pipeline.keys import score_key, weights_fingerprint
from services.platform.db import psycopg_connection
from services.pricing import ExchangeRates, UnknownCurrency, format_money, margin_percent
from services.rules import Evaluation, EvaluationStatus, Rule, evaluate, rules_fingerprint, worst
from services.scoring import ListingFacts, QualityScore, ScoreWeights, facts_from_normalized, score_listing
from services.scoring.facts import OPTIMIZED, with_listing_copy
from services.scoring.readiness import ListingState, Readiness, copy_language, readiness

log = structlog.get_logger(__name__)

_LISTINGS_TABLE = "stage_scored_listings"
_LISTINGS_COLUMNS = (
    ("product_id", "bigint"), ("marketplace", "text"), ("quality_score", "smallint"), ("grade", "text"),
    ("quality", "jsonb"), ("evaluation", "text"), ("rules", "jsonb"), ("score_key", "text"),
    ("language", "text"), ("publishable", "boolean"), ("blockers", "jsonb"),
)  # fmt: skip
_PRODUCTS_TABLE = "stage_scored_products"
_PRODUCTS_COLUMNS = (("id", "bigint"), ("optimization_score", "double precision"), ("evaluation", "text"))
NO_RULES = Evaluation("ok", [], 0)  # a seller without rules: nothing to build the facts for


def score_chunk(
    session: Session,
    job_id: uuid.UUID,
    number: int,
    *,
    marketplaces: Sequence[str],
    rules: Sequence[Rule],
    weights: ScoreWeights,
    rates: ExchangeRates,
    detector: LanguageDetector,
    source_currencies: Mapping[str, str],
    languages: Languages = BUILT_IN_LANGUAGES,
    copy_required: bool = False,
    publish: bool = False,
    only: Sequence[int] | None = None,
) -> StageResult:
    """`source_currencies` (SOURCE_CURRENCIES): the currency of a source's bare numbers, for the
    rules' cost and margin; `languages`: the configured languages of marketplaces; `copy_required`:
    the job asked for the model's copy (`optimize: true`), so a listing without it is not
    publishable; `publish`: the job publishes (or previews), so its items go on to the publish stage."""
    items = claim_items(session, job_id, number, stages.SCORE, only=only)
    work = ChunkWork(stages.SCORE, items, publish=publish)
    if not items:
        return work.result
    rules_key = rules_fingerprint(rules)
    weights_key = weights_fingerprint(
        {"title": weights.title, "description": weights.description, "images": weights.images,
         "attributes": weights.attributes}
    )  # fmt: skip
    ids = product_ids(items)
    # Counts, not the JSON: decoding attributes and competitors only to count them was a tenth of
    # this stage.
    products = read_products(
        session,
        "source_platform, normalized, normalize_key, cost, currency, stock, status,"
        " (SELECT count(*) FROM jsonb_object_keys(attributes)) AS attribute_count,"
        " jsonb_array_length(competitors) AS competitors_count",
        ids,
    )
    listings = read_listings(
        session,
        "title, price, proposed_price, currency, price_status, price_key, floor, vat_percent, fee_percent,"
        " quality_score, evaluation, score_key, description_html, ai_status, ai_reason, ai_grounding, ai_key",
        ids,
        marketplaces,
    )
    readiness_key = f"{copy_required}|{','.join(detector.languages)}"
    detected: dict[tuple[str, tuple[str, ...]], str | None] = {}  # the same text is detected once

    def language_of(text: str, names: tuple[str, ...]) -> str | None:
        key = (text, names)
        if key not in detected:
            detected[key] = detector.detect(text, names=names)
        return detected[key]

    listing_rows: list[tuple[Any, ...]] = []
    product_rows: list[tuple[Any, ...]] = []
    for item in items:
        if (product := work.product_of(item, products)) is None:
            continue
        if product.normalized is None:  # cannot happen through the pipeline, which normalizes first
            work.fails(item, [ItemError("product", "the product was not normalized before its score stage")])
            continue
        scores: list[int] = []
        evaluations: list[EvaluationStatus] = []
        errors: list[ItemError] = []
        rows_before = len(listing_rows)
        names = tuple(
            name for name in (product.normalized.get("brand"), product.normalized.get("model")) if name
        )
        for marketplace in marketplaces:
            listing = listings.get((product.id, marketplace))
            marketplace_rules = rules_for(marketplace, languages)
            key = score_key(
                product.normalize_key,
                listing.price_key if listing else None,
                rules_key,
                weights_key,
                copy=_copy_part(listing),
                readiness=f"{readiness_key}|{marketplace_rules.language}",
            )
            if listing is not None and listing.score_key == key and listing.quality_score is not None:
                scores.append(listing.quality_score)
                evaluations.append(listing.evaluation)
                continue
            try:
                facts = with_listing_copy(
                    facts_from_normalized(
                        product.normalized, marketplace, attribute_count=product.attribute_count
                    ),
                    listing,
                )
                title_language, description_language = copy_languages(facts, listing, language_of, names)
                facts = replace(
                    facts,
                    copy_language=copy_language(title_language, description_language),
                    expected_language=marketplace_rules.language,
                )
                quality = score_listing(facts, weights)
                evaluation = (
                    evaluate(rules, rule_facts(product, listing, facts, quality, rates, source_currencies))
                    if rules
                    else NO_RULES
                )
                ready = readiness(
                    facts,
                    listing_state(listing, evaluation, title_language, description_language, copy_required),
                    marketplace_rules,
                )
            except Exception as error:  # one product's bug must not fail its chunk
                log.exception("score.product_failed", product_id=product.id, marketplace=marketplace)
                errors.append(ItemError(f"score.{marketplace}", f"scoring failed ({type(error).__name__})"))
                continue
            scores.append(quality.score)
            evaluations.append(evaluation.status)
            listing_rows.append(_listing_row(product.id, marketplace, quality, evaluation, key, ready))
        if errors:
            work.fails(item, errors)
            continue
        overall = worst(evaluations)
        mean = round(sum(scores) / len(scores), 1) if scores else None
        product_rows.append((product.id, mean, overall))
        work.passes(item, skipped=len(listing_rows) == rows_before, evaluation=overall)

    _write(session, listing_rows, product_rows)
    return work.finish(session, job_id)


def copy_languages(
    facts: ListingFacts,
    listing: Any,
    language_of: Callable[[str, tuple[str, ...]], str | None],
    names: tuple[str, ...],
) -> tuple[str | None, str | None]:
    """The languages of the listing's title and description. The model's copy has both checked (it
    may write one part in the wrong language); the deterministic copy is the scraped title and
    description, so its description decides and its title is read only when the description cannot
    be told (each detection costs ≈ 0.1 ms, and this is the pipeline's hot path)."""
    description = language_of(facts.description_text, names)
    if description is not None and (listing is None or listing.ai_status != OPTIMIZED):
        return None, description
    return language_of(facts.title, names), description


def listing_state(
    listing: Any,
    evaluation: Evaluation,
    title_language: str | None,
    description_language: str | None,
    copy_required: bool,
) -> ListingState:
    """What readiness needs from the listing's row and the rules' evaluation: among it, the floor the
    price stage stored, when the price applied is below it (a price held for review keeps the last)."""
    block_rules = tuple(fired.name for fired in evaluation.fired if fired.action == "block")
    if listing is None:
        return ListingState(title_language, description_language, None, block_rules=block_rules)
    reasons: tuple[str, ...] = ()
    if listing.price_status == "needs_review" and listing.proposed_price is not None:
        reasons = (f"{listing.proposed_price} {listing.currency} proposed; the explanation says why",)
    below_floor = None
    if listing.price is not None and listing.floor is not None and listing.price < listing.floor:
        below_floor = format_money(listing.floor, listing.currency or "")
    return ListingState(
        title_language,
        description_language,
        listing.price_status,
        price_reasons=reasons,
        below_floor=below_floor,
        block_rules=block_rules,
        copy_required=copy_required,
        ai_status=listing.ai_status,
        ai_reason=listing.ai_reason,
    )


def _copy_part(listing: Any) -> str:
    """What the score key takes from the listing's copy: the model's, by its key; else nothing."""
    if listing is None or listing.ai_status != OPTIMIZED:
        return ""
    return listing.ai_key or ""


def rule_facts(
    product: Any,
    listing: Any,
    facts: ListingFacts,
    quality: QualityScore,
    rates: ExchangeRates,
    source_currencies: Mapping[str, str],
) -> dict[str, Any]:
    """The flat facts the seller's rules may name (services.rules.FIELDS), for one listing.

    `product` has source_platform, cost, currency, stock and competitors_count; `source_currencies`
    (SOURCE_CURRENCIES) the currency of a source's bare numbers. `margin_percent` is
    services.pricing.margin's, with the VAT and fee the listing was priced with (the marketplace's
    usual fee when it names none); unknown without them, a price or a cost."""
    marketplace = rules_for(facts.marketplace)
    marketplace_currency = marketplace.currency
    price = None
    price_status = None
    if listing is not None:
        price = listing.price if listing.price is not None else listing.proposed_price
        price_status = listing.price_status
    cost = None
    # A product naming no currency has its numbers in its source's (SOURCE_CURRENCIES), as pricing reads them.
    currency = product.currency or source_currencies.get((product.source_platform or "").strip().lower())
    if product.cost is not None and currency:
        try:
            cost = rates.convert(product.cost, currency, marketplace_currency)
        except UnknownCurrency:
            cost = None
    margin = None
    if listing is not None:
        fee = listing.fee_percent if listing.fee_percent is not None else marketplace.fee_percent
        margin = margin_percent(price, cost, fee, listing.vat_percent)
    return {
        "marketplace": facts.marketplace,
        "source": product.source_platform,
        "title": facts.title,
        "brand": facts.brand,
        "model": facts.model,
        "category": " > ".join(facts.category_path) if facts.category_path else None,
        "ean": facts.gtin,
        "ean_valid": facts.gtin_valid,
        "currency": marketplace_currency,
        "price": price,
        "price_status": price_status,
        "cost": cost,
        "margin_percent": margin,
        "stock": product.stock,
        "quality_score": quality.score,
        "grade": quality.grade,
        "images_count": len(facts.images),
        "competitors_count": product.competitors_count,
        "specifications": list(facts.specifications),
        "language": facts.copy_language,
        "language_matches": None if facts.copy_language is None else not facts.wrong_language,
    }


def _listing_row(
    product_id: int,
    marketplace: str,
    quality: QualityScore,
    evaluation: Evaluation,
    key: str,
    ready: Readiness,
) -> tuple[Any, ...]:
    return (
        product_id, marketplace, quality.score, quality.grade, json_text(quality.to_json()),
        evaluation.status, json_text(evaluation.to_json()), key, ready.language, ready.publishable,
        json_text(ready.blockers_json()),
    )  # fmt: skip


def _write(
    session: Session, listing_rows: list[tuple[Any, ...]], product_rows: list[tuple[Any, ...]]
) -> None:
    with psycopg_connection(session).cursor() as cursor:
        if listing_rows:
            copy_rows(cursor, _LISTINGS_TABLE, _LISTINGS_COLUMNS, listing_rows)
            names = ", ".join(name for name, _ in _LISTINGS_COLUMNS)
            cursor.execute(
                f"INSERT INTO product_listings ({names}) SELECT {names} FROM {_LISTINGS_TABLE}"  # noqa: S608
                f" ORDER BY product_id, marketplace"
                f" ON CONFLICT (product_id, marketplace) DO UPDATE SET"
                f" quality_score = EXCLUDED.quality_score, grade = EXCLUDED.grade,"
                f" quality = EXCLUDED.quality, evaluation = EXCLUDED.evaluation, rules = EXCLUDED.rules,"
                f" score_key = EXCLUDED.score_key, language = EXCLUDED.language,"
                f" publishable = EXCLUDED.publishable, blockers = EXCLUDED.blockers, updated_at = now()"
            )
        if product_rows:
            # Only rows that change: a re-import of the same products writes nothing here.
            copy_rows(cursor, _PRODUCTS_TABLE, _PRODUCTS_COLUMNS, product_rows)
            cursor.execute(
                f"UPDATE products p SET optimization_score = s.optimization_score,"  # noqa: S608
                f" evaluation = s.evaluation, status = %s, updated_at = now()"
                f" FROM {_PRODUCTS_TABLE} s WHERE p.id = s.id AND (p.status IS DISTINCT FROM %s"
                f" OR p.optimization_score IS DISTINCT FROM s.optimization_score"
                f" OR p.evaluation IS DISTINCT FROM s.evaluation)",
                (ProductStatus.SCORED, ProductStatus.SCORED),
            )

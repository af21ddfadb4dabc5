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

import orjson
import structlog
from sqlalchemy.orm import Session

from models import ProductStatus, stages
from services.marketplaces import BUILT_IN_LANGUAGES, Languages, MarketplaceRules, rules_for
from services.normalize.language import LanguageDetector
from services.pipeline.bulk import json_text
from services.pipeline.items import ChunkWork, ItemError, StageResult
from services.pipeline.keys import score_key, weights_fingerprint
from services.pipeline.stages.chain import ChunkRows, Record, Step, run_steps
from services.pricing import ExchangeRates, UnknownCurrency, format_money, margin_percent
from services.rules import Evaluation, EvaluationStatus, Rule, evaluate, rules_fingerprint, worst
from services.scoring import ListingFacts, QualityScore, ScoreWeights, facts_from_normalized, score_listing
from services.scoring.facts import OPTIMIZED, with_listing_copy
from services.scoring.readiness import ListingState, Readiness, copy_language, readiness

log = structlog.get_logger(__name__)

NO_RULES = Evaluation("ok", [], 0)  # a seller without rules: nothing to build the facts for
LIGHT = (
    "source_platform", "normalize_key", "cost", "currency", "stock", "status", "optimization_score",
    "evaluation",
)  # fmt: skip
# Counts, not the JSON: decoding attributes and competitors only to count them was a tenth of this stage.
HEAVY = (
    "normalized", "(SELECT count(*) FROM jsonb_object_keys(attributes)) AS attribute_count",
    "jsonb_array_length(competitors) AS competitors_count",
)  # fmt: skip
LISTING_COLUMNS = (
    "title", "price", "proposed_price", "currency", "price_status", "price_key", "floor", "vat_percent",
    "fee_percent", "quality_score", "evaluation", "score_key", "description_html", "ai_status", "ai_reason",
    "ai_grounding", "ai_key",
)  # fmt: skip


def score_step(
    *,
    marketplaces: Sequence[str],
    rules: Sequence[Rule],
    weights: ScoreWeights,
    rates: ExchangeRates,
    detector: LanguageDetector,
    source_currencies: Mapping[str, str],
    languages: Languages = BUILT_IN_LANGUAGES,
    copy_required: bool = False,
) -> Step:
    """The score stage as a step of a run (services.pipeline.stages.chain).

    `source_currencies` (SOURCE_CURRENCIES): the currency of a source's bare numbers, for the rules'
    cost and margin; `languages`: the configured languages of marketplaces; `copy_required`: the job
    asked for the model's copy (`optimize: true`), so a listing without it is not publishable."""
    scoring = _Scoring(
        marketplaces, rules, weights, rates, detector, source_currencies, languages, copy_required
    )
    return Step(stages.SCORE, LIGHT, HEAVY, LISTING_COLUMNS, lambda session: scoring)


class _Scoring:
    def __init__(
        self,
        marketplaces: Sequence[str],
        rules: Sequence[Rule],
        weights: ScoreWeights,
        rates: ExchangeRates,
        detector: LanguageDetector,
        source_currencies: Mapping[str, str],
        languages: Languages,
        copy_required: bool,
    ) -> None:
        self.rules, self.weights, self.rates, self.detector = rules, weights, rates, detector
        self.source_currencies, self.copy_required = source_currencies, copy_required
        self.rules_key = rules_fingerprint(rules)
        self.weights_key = weights_fingerprint(
            {"title": weights.title, "description": weights.description, "images": weights.images,
             "attributes": weights.attributes}
        )  # fmt: skip
        self.readiness_key = f"{copy_required}|{','.join(detector.languages)}"
        self.by_marketplace = [(m, rules_for(m, languages)) for m in marketplaces]

    def key(self, product: Any, listing: Any, marketplace_rules: MarketplaceRules) -> str:
        return score_key(
            product.normalize_key,
            listing.price_key if listing else None,
            self.rules_key,
            self.weights_key,
            copy=_copy_part(listing),
            readiness=f"{self.readiness_key}|{marketplace_rules.language}",
        )

    def _fresh(self, product: Any, listing: Any, marketplace_rules: MarketplaceRules) -> bool:
        return (
            listing is not None
            and listing.quality_score is not None
            and listing.score_key == self.key(product, listing, marketplace_rules)
        )

    def stale(self, product: Record, rows: ChunkRows) -> bool:
        return not all(
            self._fresh(product, rows.listing(product.id, marketplace), marketplace_rules)
            for marketplace, marketplace_rules in self.by_marketplace
        )

    def work(self, work: ChunkWork, rows: ChunkRows) -> None:
        detected: dict[tuple[str, tuple[str, ...]], str | None] = {}  # the same text is detected once

        def language_of(text: str, names: tuple[str, ...]) -> str | None:
            key = (text, names)
            if key not in detected:
                detected[key] = self.detector.detect(text, names=names)
            return detected[key]

        for item in work.items:
            if (product := work.product_of(item, rows.products)) is None:
                continue
            scores: list[int] = []
            evaluations: list[EvaluationStatus] = []
            pending = []  # the listings whose score key changed
            for marketplace, marketplace_rules in self.by_marketplace:
                listing = rows.listing(product.id, marketplace)
                if listing is not None and self._fresh(product, listing, marketplace_rules):
                    scores.append(listing.quality_score)
                    evaluations.append(listing.evaluation)
                else:
                    pending.append((marketplace, marketplace_rules, listing))
            if pending and product.normalized is None:  # not through the pipeline, which normalizes first
                work.fails(
                    item, [ItemError("product", "the product was not normalized before its score stage")]
                )
                continue
            errors: list[ItemError] = []
            names = _names(product.normalized) if pending else ()
            for marketplace, marketplace_rules, listing in pending:
                try:
                    quality, evaluation, ready = self._score(
                        product, listing, marketplace, marketplace_rules, names, language_of
                    )
                except Exception as error:  # one product's bug must not fail its chunk
                    log.exception("score.product_failed", product_id=product.id, marketplace=marketplace)
                    errors.append(
                        ItemError(f"score.{marketplace}", f"scoring failed ({type(error).__name__})")
                    )
                    continue
                scores.append(quality.score)
                evaluations.append(evaluation.status)
                key = self.key(product, listing, marketplace_rules)
                _apply(rows, product.id, marketplace, quality, evaluation, key, ready)
            if errors:
                work.fails(item, errors)
                continue
            overall = worst(evaluations)
            mean = round(sum(scores) / len(scores), 1) if scores else None
            if (product.status, product.optimization_score, product.evaluation) != (
                ProductStatus.SCORED, mean, overall
            ):  # fmt: skip
                product.optimization_score, product.evaluation = mean, overall
                rows.scored.add(product.id)
            work.passes(item, skipped=not pending, evaluation=overall)

    def _score(
        self,
        product: Any,
        listing: Any,
        marketplace: str,
        marketplace_rules: MarketplaceRules,
        names: tuple[str, ...],
        language_of: Callable[[str, tuple[str, ...]], str | None],
    ) -> tuple[QualityScore, Evaluation, Readiness]:
        """The listing's quality, the seller's rules' evaluation and whether it may go out."""
        facts = with_listing_copy(
            facts_from_normalized(product.normalized, marketplace, attribute_count=product.attribute_count),
            listing,
        )
        title_language, description_language = copy_languages(facts, listing, language_of, names)
        facts = replace(
            facts,
            copy_language=copy_language(title_language, description_language),
            expected_language=marketplace_rules.language,
        )
        quality = score_listing(facts, self.weights)
        evaluation = NO_RULES
        if self.rules:
            flat = rule_facts(product, listing, facts, quality, self.rates, self.source_currencies)
            evaluation = evaluate(self.rules, flat)
        state = listing_state(listing, evaluation, title_language, description_language, self.copy_required)
        return quality, evaluation, readiness(facts, state, marketplace_rules)


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
    """The score stage alone on chunk `number` (see score_step); `publish`: the job publishes (or
    previews), so its items go on to the publish stage."""
    step = score_step(
        marketplaces=marketplaces, rules=rules, weights=weights, rates=rates, detector=detector,
        source_currencies=source_currencies, languages=languages, copy_required=copy_required,
    )  # fmt: skip
    return run_steps(session, job_id, number, [step], marketplaces=marketplaces, publish=publish, only=only)[
        stages.SCORE
    ]


def _dataclass_json(value: QualityScore) -> str:
    """QualityScore.to_json() as text: orjson walks the dataclasses in C, in their fields' order."""
    return orjson.dumps(value).decode()


def _names(normalized: Mapping[str, Any]) -> tuple[str, ...]:
    """The product's brand and model: names, in no language, left out of the language's detection."""
    return tuple(name for name in (normalized.get("brand"), normalized.get("model")) if name)


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


def _apply(
    rows: ChunkRows,
    product_id: int,
    marketplace: str,
    quality: QualityScore,
    evaluation: Evaluation,
    key: str,
    ready: Readiness,
) -> None:
    rows.write_listing(
        stages.SCORE, product_id, marketplace, score_key=key, quality_score=quality.score,
        grade=quality.grade, quality=_dataclass_json(quality), evaluation=evaluation.status,
        rules=json_text(evaluation.to_json()), language=ready.language, publishable=ready.publishable,
        blockers=json_text(ready.blockers_json()),
    )  # fmt: skip

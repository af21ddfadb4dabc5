"""The normalize stage over one chunk: clean titles, extracted fields, a compliant title per marketplace.

Runs services.normalize.normalize_product on each product of the chunk whose normalize key changed
(or that lacks a title for a requested marketplace): the products' normalized columns and the
listings' deterministic copy (fitted title, cleaned description), written with the run's other
stages (services.pipeline.stages.chain).

A job that optimizes sends its items on to the optimize stage, which replaces the copy with the
model's. One that does not (`deterministic_reason`: no Groq key, or `optimize: false`) goes on to
price, and its listings say `ai_status: "deterministic"` with that reason; a listing that still holds
a model's copy from an earlier job is written again, since this job asked for the deterministic one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import structlog
from sqlalchemy.orm import Session

from models import stages
from services.imports.product import ProductIn
from services.normalize import NormalizedProduct, normalize_product
from services.normalize.extract import KNOWN_BRANDS
from services.pipeline.items import ChunkWork, ItemError, StageResult
from services.pipeline.keys import brands_fingerprint, normalize_key
from services.pipeline.stages.chain import ChunkRows, Record, Step, run_steps

log = structlog.get_logger(__name__)

DETERMINISTIC = "deterministic"
NOT_OPTIMIZED_YET = "waiting for the optimize stage"
LIGHT = ("content_hash", "normalize_key", "category")
HEAVY = ("source_id", "title", "description", "brand", "ean", "images", "attributes")
LISTING_COLUMNS = ("normalize_key", "ai_status", "ai_reason")


def normalize_step(
    *, marketplaces: Sequence[str], deterministic_reason: str | None, brands: Mapping[str, str] = KNOWN_BRANDS
) -> Step:
    """The normalize stage as a step of a run (services.pipeline.stages.chain).

    `deterministic_reason`: why this job keeps the deterministic copy; None when it optimizes.
    `brands`: the brands a title may name (the seller's EXTRA_BRANDS with the built-in ones)."""
    return Step(
        stages.NORMALIZE,
        LIGHT,
        HEAVY,
        LISTING_COLUMNS,
        lambda session: _Normalize(marketplaces, deterministic_reason, brands),
    )


class _Normalize:
    def __init__(
        self, marketplaces: Sequence[str], deterministic_reason: str | None, brands: Mapping[str, str]
    ) -> None:
        self.marketplaces, self.deterministic_reason, self.brands = marketplaces, deterministic_reason, brands
        self.brands_key = brands_fingerprint(brands)
        self.optimize = deterministic_reason is None
        self.copy_mode = (DETERMINISTIC, deterministic_reason)

    def key(self, product: Record) -> str:
        return normalize_key(product.content_hash, self.brands_key)

    def stale(self, product: Record, rows: ChunkRows) -> bool:
        key = self.key(product)
        return product.normalize_key != key or not all(
            (listing := rows.listing(product.id, m)) is not None
            and listing.normalize_key == key
            and (self.optimize or (listing.ai_status, listing.ai_reason) == self.copy_mode)
            for m in self.marketplaces
        )

    def work(self, work: ChunkWork, rows: ChunkRows) -> None:
        for item in work.items:
            if (product := work.product_of(item, rows.products)) is None:
                continue
            if not self.stale(product, rows):
                work.passes(item, skipped=True)
                continue
            try:
                normalized = normalize_product(product_in(product), self.marketplaces, brands=self.brands)
            except Exception as error:  # one product's bug must not fail its chunk
                log.exception("normalize.product_failed", product_id=product.id)
                work.fails(item, [ItemError("product", f"normalize failed ({type(error).__name__})")])
                continue
            reason = self.deterministic_reason or NOT_OPTIMIZED_YET
            _apply(rows, product, normalized, self.key(product), reason)
            work.passes(item)


def _apply(rows: ChunkRows, product: Record, normalized: NormalizedProduct, key: str, reason: str) -> None:
    """The normalized columns on the product, the deterministic copy on its listings (as written)."""
    text = normalized.to_json_text()
    product.__dict__.update(
        normalize_key=key,
        normalized_title=normalized.title,
        normalized_brand=normalized.brand,
        model=normalized.model,
        category_path=" > ".join(normalized.category_path) if normalized.category_path else None,
        specifications=orjson.dumps(normalized.specifications, default=str).decode(),
        normalized_text=text,
        normalized=orjson.loads(text),  # as the next stage would read it from the column
    )
    rows.normalized.add(product.id)
    description = normalized.description.html or None
    for marketplace, title in normalized.marketplace_titles.items():
        rows.write_listing(
            stages.NORMALIZE, product.id, marketplace, normalize_key=key, title=title,
            description_html=description, ai_status=DETERMINISTIC, ai_reason=reason,
            ai_grounding=None, ai_key=None,
        )  # fmt: skip


def normalize_chunk(
    session: Session,
    job_id: uuid.UUID,
    number: int,
    *,
    marketplaces: Sequence[str],
    deterministic_reason: str | None,
    brands: Mapping[str, str] = KNOWN_BRANDS,
    only: Sequence[int] | None = None,
) -> StageResult:
    """The normalize stage alone on chunk `number` (see normalize_step)."""
    step = normalize_step(marketplaces=marketplaces, deterministic_reason=deterministic_reason, brands=brands)
    optimize = deterministic_reason is None
    return run_steps(
        session, job_id, number, [step], marketplaces=marketplaces, optimize=optimize, only=only
    )[stages.NORMALIZE]


def product_in(row: Any) -> ProductIn:
    # Validated at import: construct without validating again. Every field is given, since pydantic
    # inspects each default factory it has to call (a third of this stage's time when it did).
    return ProductIn.model_construct(
        source_id=row.source_id, title=row.title, description=row.description, brand=row.brand,
        category=row.category, ean=row.ean, images=row.images, attributes=row.attributes,
        source_url=None, price=None, currency=None, stock=None, cost=None, competitors=[],
    )  # fmt: skip

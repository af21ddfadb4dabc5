"""The normalize stage over one chunk: clean titles, extracted fields, a compliant title per marketplace.

Reads the chunk's products in one query, runs services.normalize.normalize_product on each whose
normalize key changed (or that lacks a title for a requested marketplace), and writes the products'
normalized columns and the listings' deterministic copy (fitted title, cleaned description) in two
bulk statements.

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

from models import ProductStatus, stages
from services.imports.product import ProductIn
from services.normalize import normalize_product
from services.normalize.extract import KNOWN_BRANDS
from services.pipeline.bulk import copy_rows
from services.pipeline.items import (
    ChunkWork,
    ItemError,
    StageResult,
    claim_items,
    product_ids,
    read_listings,
    read_products,
)
from services.pipeline.keys import brands_fingerprint, normalize_key
from services.platform.db import psycopg_connection

log = structlog.get_logger(__name__)

_PRODUCTS_TABLE = "stage_normalized_products"
_PRODUCTS_COLUMNS = (
    ("id", "bigint"), ("normalized_title", "text"), ("normalized_brand", "text"), ("model", "text"),
    ("category_path", "text"), ("specifications", "jsonb"), ("normalized", "jsonb"),
    ("normalize_key", "text"),
)  # fmt: skip
_LISTINGS_TABLE = "stage_normalized_listings"
_LISTINGS_COLUMNS = (
    ("product_id", "bigint"), ("marketplace", "text"), ("title", "text"), ("description_html", "text"),
    ("normalize_key", "text"), ("ai_status", "text"), ("ai_reason", "text"),
)  # fmt: skip
DETERMINISTIC = "deterministic"
NOT_OPTIMIZED_YET = "waiting for the optimize stage"


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
    """`deterministic_reason`: why this job keeps the deterministic copy; None when it optimizes.
    `brands`: the brands a title may name (the seller's EXTRA_BRANDS with the built-in ones)."""
    brands_key = brands_fingerprint(brands)
    optimize = deterministic_reason is None
    items = claim_items(session, job_id, number, stages.NORMALIZE, only=only)
    work = ChunkWork(stages.NORMALIZE, items, optimize=optimize)
    if not items:
        return work.result
    ids = product_ids(items)
    products = read_products(
        session,
        "source_id, title, description, brand, category, ean, images, attributes,"
        " content_hash, normalize_key",
        ids,
    )
    titled = read_listings(session, "normalize_key, ai_status, ai_reason", ids, marketplaces)

    product_rows: list[tuple[Any, ...]] = []
    listing_rows: list[tuple[Any, ...]] = []
    for item in items:
        if (product := work.product_of(item, products)) is None:
            continue
        key = normalize_key(product.content_hash, brands_key)
        if product.normalize_key == key and all(
            (listing := titled.get((product.id, m))) is not None
            and listing.normalize_key == key
            and (optimize or (listing.ai_status, listing.ai_reason) == (DETERMINISTIC, deterministic_reason))
            for m in marketplaces
        ):
            work.passes(item, skipped=True)
            continue
        try:
            normalized = normalize_product(product_in(product), marketplaces, brands=brands)
        except Exception as error:  # one product's bug must not fail its chunk
            log.exception("normalize.product_failed", product_id=product.id)
            work.fails(item, [ItemError("product", f"normalize failed ({type(error).__name__})")])
            continue
        category = " > ".join(normalized.category_path) if normalized.category_path else None
        specifications = orjson.dumps(normalized.specifications, default=str).decode()
        product_rows.append(
            (product.id, normalized.title, normalized.brand, normalized.model, category, specifications,
             normalized.to_json_text(), key)
        )  # fmt: skip
        description = normalized.description.html or None
        reason = deterministic_reason or NOT_OPTIMIZED_YET
        listing_rows.extend(
            (product.id, marketplace, title, description, key, DETERMINISTIC, reason)
            for marketplace, title in normalized.marketplace_titles.items()
        )
        work.passes(item)

    _write(session, product_rows, listing_rows)
    return work.finish(session, job_id)


def product_in(row: Any) -> ProductIn:
    # Validated at import: construct without validating again. Every field is given, since pydantic
    # inspects each default factory it has to call (a third of this stage's time when it did).
    return ProductIn.model_construct(
        source_id=row.source_id, title=row.title, description=row.description, brand=row.brand,
        category=row.category, ean=row.ean, images=row.images, attributes=row.attributes,
        source_url=None, price=None, currency=None, stock=None, cost=None, competitors=[],
    )  # fmt: skip


def _write(
    session: Session, product_rows: list[tuple[Any, ...]], listing_rows: list[tuple[Any, ...]]
) -> None:
    if not product_rows:
        return
    with psycopg_connection(session).cursor() as cursor:
        copy_rows(cursor, _PRODUCTS_TABLE, _PRODUCTS_COLUMNS, product_rows)
        cursor.execute(
            f"UPDATE products p SET normalized_title = s.normalized_title,"  # noqa: S608 - constants
            f" normalized_brand = s.normalized_brand, model = s.model, category_path = s.category_path,"
            f" specifications = s.specifications, normalized = s.normalized,"
            f" normalize_key = s.normalize_key, status = %s, updated_at = now()"
            f" FROM {_PRODUCTS_TABLE} s WHERE p.id = s.id",
            (ProductStatus.NORMALIZED,),
        )
        copy_rows(cursor, _LISTINGS_TABLE, _LISTINGS_COLUMNS, listing_rows)
        names = ", ".join(name for name, _ in _LISTINGS_COLUMNS)
        # The model's copy and what it cost go with the content they were written for.
        cursor.execute(
            f"INSERT INTO product_listings ({names}) SELECT {names} FROM {_LISTINGS_TABLE}"  # noqa: S608
            f" ORDER BY product_id, marketplace"
            f" ON CONFLICT (product_id, marketplace) DO UPDATE SET title = EXCLUDED.title,"
            f" description_html = EXCLUDED.description_html, normalize_key = EXCLUDED.normalize_key,"
            f" ai_status = EXCLUDED.ai_status, ai_reason = EXCLUDED.ai_reason, ai_grounding = NULL,"
            f" ai_model = NULL, ai_prompt_version = NULL, ai_prompt_tokens = NULL,"
            f" ai_completion_tokens = NULL, ai_key = NULL, updated_at = now()"
        )

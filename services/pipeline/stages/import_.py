"""The import stage: validate a chunk of received products and upsert them in bulk.

One read of the chunk, one read of its products already stored (their hashes), pure validation per
new or changed product, one bulk upsert of those, one COPY of the chunk's items. A product sent again
exactly as stored (both hashes equal) is `unchanged` without being validated or written again: a
re-import of a catalogue costs little more than hashing it. A product that fails validation fails
alone, with its fields and reasons; one imported otherwise than sent (an unreadable price) passes,
its warnings kept on its item for the job's errors. Safe to run twice: a chunk is imported only while
pending, under a row lock that a concurrent duplicate of the same message skips, and marked done in
the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.orm import Session

from models import ChunkStatus, ItemOutcome, ItemStatus, stages
from services.imports.envelope import without_nul
from services.imports.intake import source_key
from services.imports.product import ProductIn, may_warn, validate_product
from services.platform.db import psycopg_connection

# Columns written by the import, in the order of the upsert's VALUES.
PRODUCT_COLUMNS = (
    "source_platform", "source_id", "source_url", "title", "description", "price", "currency", "cost",
    "stock", "brand", "category", "ean", "images", "attributes", "competitors", "raw_data",
    "content_hash", "offer_hash", "last_import_job_id",
)  # fmt: skip
_UPDATED_COLUMNS = [c for c in PRODUCT_COLUMNS if c not in ("source_platform", "source_id")]

# The chunk's products are COPYed into a temporary table, then merged in one statement: COPY
# formats rows in C, where a pipelined executemany adapts 19 parameters per row in Python.
STAGING_TABLE = "products_import_batch"
CREATE_STAGING = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} ON COMMIT DELETE ROWS
AS SELECT {", ".join(PRODUCT_COLUMNS)} FROM products WITH NO DATA
"""  # noqa: S608
MERGE_STAGED = f"""
INSERT INTO products ({", ".join(PRODUCT_COLUMNS)})
SELECT {", ".join(PRODUCT_COLUMNS)} FROM {STAGING_TABLE}
ON CONFLICT (source_platform, source_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED_COLUMNS)}, updated_at = now()
WHERE products.content_hash IS DISTINCT FROM EXCLUDED.content_hash
   OR products.offer_hash IS DISTINCT FROM EXCLUDED.offer_hash
RETURNING id, source_id, (xmax = 0) AS inserted
"""  # noqa: S608 - names are constants of this module, values come through COPY


OFFER_KEYS = frozenset({"price", "currency", "cost", "stock", "competitors"})


@dataclass(frozen=True, slots=True)
class PreparedProduct:
    """A valid product as the products table stores it."""

    source_id: str
    values: tuple[Any, ...]


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def content_hashes(raw: dict[str, Any]) -> tuple[str, str]:
    """sha256 of what the scrape says about the item, and of its offer, from the product as sent.

    Hashing the input (not the parsed model) keeps it cheap; a scraper that changes only how it
    formats a price re-runs pricing once, which is harmless.
    """
    content = {key: value for key, value in raw.items() if key not in OFFER_KEYS}
    offer = {key: value for key, value in raw.items() if key in OFFER_KEYS}
    return (
        hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest(),
        hashlib.sha256(orjson.dumps(offer, option=orjson.OPT_SORT_KEYS)).hexdigest(),
    )


def prepare_product(
    raw: dict[str, Any],
    product: ProductIn,
    *,
    source: str,
    job_id: uuid.UUID,
    hashes: tuple[str, str] | None = None,
) -> PreparedProduct:
    """`hashes`: content_hashes(raw), when the caller has them already."""
    content_hash, offer_hash = hashes or content_hashes(raw)
    competitors = [c.model_dump(mode="json") for c in product.competitors]
    return PreparedProduct(
        product.source_id,
        (
            source, product.source_id, product.source_url, product.title, product.description,
            product.price, product.currency, product.cost, product.stock, product.brand,
            product.category, product.ean, _json(product.images), _json(product.attributes),
            _json(competitors), _json(product.raw_extra()), content_hash, offer_hash, job_id,
        ),
    )  # fmt: skip


@dataclass
class ChunkResult:
    imported: int = 0
    failed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    product_ids: list[int] = field(default_factory=list)
    failed_source_ids: list[str | None] = field(default_factory=list)


def import_chunk(
    session: Session, job_id: uuid.UUID, number: int, *, next_stage: str | None = None
) -> ChunkResult:
    """Import chunk `number` of a job, if it is still pending; write its items.

    `next_stage` is where the imported items go next; None means the import is their last stage.
    """
    chunk = session.execute(
        text(
            "SELECT c.first_position, c.products, c.duplicates, j.source FROM job_chunks c"
            " JOIN import_jobs j ON j.id = c.job_id"
            " WHERE c.job_id = :job_id AND c.number = :number AND c.status = :pending"
            " FOR UPDATE OF c SKIP LOCKED"
        ),
        {"job_id": job_id, "number": number, "pending": ChunkStatus.PENDING},
    ).one_or_none()
    result = ChunkResult()
    if chunk is None:  # done already, or being done by a duplicate of this message right now
        return result
    first_position, products_json, duplicates, source = chunk
    products = orjson.loads(products_json)
    if "\\u0000" in products_json:  # Postgres text cannot hold NUL: drop it (rare, so checked cheaply)
        products = without_nul(products)

    items: list[tuple[Any, ...]] = []  # (position, source_id, stage, status, product_id, outcome, errors)
    # (position, raw product, its source key): the chunk's products but its duplicates
    candidates: list[tuple[int, Any, str | None]] = []
    duplicate_positions = set(duplicates)
    for position, raw in enumerate(products, start=first_position):
        key = source_key(raw)
        if position in duplicate_positions:
            items.append((position, key, stages.IMPORT, ItemStatus.DONE, None, ItemOutcome.DUPLICATE, None))
            result.outcomes[ItemOutcome.DUPLICATE] += 1
        else:
            candidates.append((position, raw, key))

    known = _stored_hashes(session, source, [key for _, _, key in candidates if key is not None])
    # (position, source_id, product id, outcome, warnings) of the products that pass
    imported: list[tuple[int, str, int, str, Any]] = []
    # (position, product, warnings: what was imported otherwise than sent, e.g. an unreadable price)
    valid: list[tuple[int, PreparedProduct, Any]] = []
    for position, raw, key in candidates:
        hashes = content_hashes(raw) if key is not None else None  # a key: a dict with a usable id
        if key is not None and (product_id := _unchanged_id(known.get(key), raw, hashes)) is not None:
            imported.append((position, key, product_id, ItemOutcome.UNCHANGED, None))
            continue
        checked = validate_product(raw)
        if isinstance(checked, ProductIn):
            warnings = [
                {"field": w.field, "error": w.error, "stage": stages.IMPORT} for w in checked.warnings
            ]
            prepared = prepare_product(raw, checked, source=source, job_id=job_id, hashes=hashes)
            valid.append((position, prepared, Jsonb(warnings) if warnings else None))
        else:
            errors = Jsonb([{"field": e.field, "error": e.error} for e in checked])
            items.append((position, key, stages.IMPORT, ItemStatus.FAILED, None, None, errors))
            result.failed_source_ids.append(key)

    written = _upsert_products(session, source, [prepared for _, prepared, _ in valid])
    for position, prepared, warnings in valid:
        product_id, outcome = written[prepared.source_id]
        imported.append((position, prepared.source_id, product_id, outcome, warnings))
    # Imported items move on to the next stage (or are done); failed ones stay at the import.
    stage, status = (
        (stages.IMPORT, ItemStatus.DONE) if next_stage is None else (next_stage, ItemStatus.PENDING)
    )
    for position, source_id, product_id, outcome, warnings in sorted(imported):
        items.append((position, source_id, stage, status, product_id, outcome, warnings))
        result.product_ids.append(product_id)
        result.outcomes[outcome] += 1

    connection = psycopg_connection(session)
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY job_items (job_id, position, source_id, stage, status, product_id, outcome, errors)"
            " FROM STDIN"
        ) as copy,
    ):
        for item in items:
            copy.write_row((job_id, *item))
    session.execute(
        text(
            "UPDATE job_chunks SET status = :done, updated_at = now()"
            " WHERE job_id = :job_id AND number = :number"
        ),
        {"done": ChunkStatus.DONE, "job_id": job_id, "number": number},
    )
    result.imported = len(imported)
    result.failed = len(products) - len(imported) - len(duplicate_positions)
    return result


def _unchanged_id(
    stored: tuple[int, str, str] | None, raw: dict[str, Any], hashes: tuple[str, str] | None
) -> int | None:
    """The id of the stored product when `raw` is it sent again unchanged, else None.

    Both hashes equal: the row was written from this same raw product (the hashes are of the product
    as sent), which passed validation then and was stored as validated; validating and merging it
    again would give the same row, which the merge's WHERE would leave untouched. So it is neither
    (a validation rule made stricter since applies to it when it next changes). Unless it may have
    warnings (may_warn: a price text with no digit), which its item must report again: that rare
    product takes the whole way, and the merge finds it unchanged.
    """
    if stored is None or stored[1:] != hashes or may_warn(raw):
        return None
    return stored[0]


def _stored_hashes(session: Session, source: str, keys: list[str]) -> dict[str, tuple[int, str, str]]:
    """source_id -> (id, content_hash, offer_hash) of the products stored under these source ids."""
    if not keys:
        return {}
    with psycopg_connection(session).cursor() as cursor:
        cursor.execute(
            "SELECT source_id, id, content_hash, offer_hash FROM products"
            " WHERE source_platform = %s AND source_id = ANY(%s)",
            (source, keys),
        )
        return {source_id: (product_id, content, offer) for source_id, product_id, content, offer in cursor}


def _upsert_products(
    session: Session, source: str, products: list[PreparedProduct]
) -> dict[str, tuple[int, str]]:
    """Upsert in one merge; returns source_id -> (product id, outcome)."""
    if not products:
        return {}
    written: dict[str, tuple[int, str]] = {}
    with psycopg_connection(session).cursor() as cursor:
        cursor.execute(CREATE_STAGING)
        cursor.execute(f"DELETE FROM {STAGING_TABLE}")  # noqa: S608 - see stages.bulk.copy_rows
        with cursor.copy(f"COPY {STAGING_TABLE} ({', '.join(PRODUCT_COLUMNS)}) FROM STDIN") as copy:
            for product in products:
                copy.write_row(product.values)
        for product_id, source_id, inserted in cursor.execute(MERGE_STAGED).fetchall():
            written[source_id] = (product_id, ItemOutcome.CREATED if inserted else ItemOutcome.UPDATED)
        # Rows whose hashes matched were not touched (and not returned): the same product again.
        unchanged = [p.source_id for p in products if p.source_id not in written]
        if unchanged:
            cursor.execute(
                "SELECT id, source_id FROM products WHERE source_platform = %s AND source_id = ANY(%s)",
                (source, unchanged),
            )
            for product_id, source_id in cursor.fetchall():
                written[source_id] = (product_id, ItemOutcome.UNCHANGED)
    return written

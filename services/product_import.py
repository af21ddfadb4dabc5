"""The import stage: validate a chunk of received products and upsert them in bulk.

One read of the chunk's items, pure validation per product, one bulk upsert of the products and one
bulk update of the items. A product that fails validation fails alone, with its fields and reasons.
Safe to run twice: only items still pending at this stage are read, under row locks that a
concurrent duplicate of the same message skips.
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

from models import ItemOutcome, ItemStatus, stages
from models.db import psycopg_connection
from schemas.product import FieldError, ProductIn, validate_product

# Columns written by the import, in the order of the upsert's VALUES.
PRODUCT_COLUMNS = (
    "source_platform", "source_id", "source_url", "title", "description", "price", "currency", "cost",
    "stock", "brand", "category", "ean", "images", "attributes", "competitors", "raw_data",
    "content_hash", "offer_hash", "last_import_job_id",
)  # fmt: skip
_UPDATED_COLUMNS = [c for c in PRODUCT_COLUMNS if c not in ("source_platform", "source_id")]

UPSERT_PRODUCT = f"""
INSERT INTO products ({", ".join(PRODUCT_COLUMNS)})
VALUES ({", ".join(["%s"] * len(PRODUCT_COLUMNS))})
ON CONFLICT (source_platform, source_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED_COLUMNS)}, updated_at = now()
WHERE products.content_hash IS DISTINCT FROM EXCLUDED.content_hash
   OR products.offer_hash IS DISTINCT FROM EXCLUDED.offer_hash
RETURNING id, source_id, (xmax = 0) AS inserted
"""  # noqa: S608 - column names are constants of this module, values are parameters

UPDATE_ITEMS = """
UPDATE job_items AS item
SET stage = u.stage, status = u.status, product_id = u.product_id, outcome = u.outcome,
    errors = u.errors, updated_at = now()
FROM unnest(%(positions)s::int[], %(stages)s::text[], %(statuses)s::text[], %(product_ids)s::bigint[],
            %(outcomes)s::text[], %(errors)s::jsonb[])
     AS u(position, stage, status, product_id, outcome, errors)
WHERE item.job_id = %(job_id)s AND item.position = u.position
"""


@dataclass(frozen=True, slots=True)
class PreparedProduct:
    """A valid product as the products table stores it."""

    source_id: str
    values: tuple[Any, ...]


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def prepare_product(product: ProductIn, *, source: str, job_id: uuid.UUID) -> PreparedProduct:
    data = product.model_dump(mode="json", exclude={"price", "currency", "cost", "stock", "competitors"})
    data.update(product.raw_extra())
    offer = {
        "price": product.price,
        "currency": product.currency,
        "cost": product.cost,
        "stock": product.stock,
        "competitors": [c.model_dump(mode="json") for c in product.competitors],
    }
    content_hash = _digest(data)
    offer_hash = _digest(
        {key: str(value) if key in ("price", "cost") else value for key, value in offer.items()}
    )
    return PreparedProduct(
        product.source_id,
        (
            source, product.source_id, product.source_url, product.title, product.description,
            product.price, product.currency, product.cost, product.stock, product.brand,
            product.category, product.ean, Jsonb(product.images), Jsonb(product.attributes),
            Jsonb(offer["competitors"]), Jsonb(product.raw_extra()), content_hash, offer_hash, job_id,
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
    session: Session, job_id: uuid.UUID, start: int, stop: int, *, next_stage: str | None = None
) -> ChunkResult:
    """Import the pending items of positions [start, stop) of a job.

    `next_stage` is where the imported items go next; None means the import is their last stage.
    """
    source = session.execute(
        text("SELECT source FROM import_jobs WHERE id = :job_id"), {"job_id": job_id}
    ).scalar_one()
    items = session.execute(
        text(
            "SELECT position, payload FROM job_items WHERE job_id = :job_id AND position >= :start"
            " AND position < :stop AND stage = :stage AND status = :pending"
            " ORDER BY position FOR UPDATE SKIP LOCKED"
        ),
        {
            "job_id": job_id,
            "start": start,
            "stop": stop,
            "stage": stages.IMPORT,
            "pending": ItemStatus.PENDING,
        },
    ).all()
    result = ChunkResult()
    if not items:
        return result

    valid: dict[int, PreparedProduct] = {}
    invalid: dict[int, list[FieldError]] = {}
    for position, payload in items:
        checked = validate_product(payload)
        if isinstance(checked, ProductIn):
            valid[position] = prepare_product(checked, source=source, job_id=job_id)
        else:
            invalid[position] = checked
            source_id = payload.get("source_id") if isinstance(payload, dict) else None
            result.failed_source_ids.append(None if source_id is None else str(source_id))

    written = _upsert_products(session, source, list(valid.values()))

    # One row per item for the bulk update: imported items move on, failed ones stay here.
    updates: list[tuple[int, str, str, int | None, str | None, Jsonb | None]] = []
    for position, prepared in valid.items():
        product_id, outcome = written[prepared.source_id]
        if next_stage is None:
            updates.append((position, stages.IMPORT, ItemStatus.DONE, product_id, outcome, None))
        else:
            updates.append((position, next_stage, ItemStatus.PENDING, product_id, outcome, None))
        result.product_ids.append(product_id)
        result.outcomes[outcome] += 1
    for position, field_errors in invalid.items():
        errors = Jsonb([{"field": e.field, "error": e.error} for e in field_errors])
        updates.append((position, stages.IMPORT, ItemStatus.FAILED, None, None, errors))

    columns = list(zip(*updates, strict=True))
    with psycopg_connection(session).cursor() as cursor:
        cursor.execute(
            UPDATE_ITEMS,
            {
                "job_id": job_id,
                **dict(zip(("positions", "stages", "statuses", "product_ids", "outcomes", "errors"),
                           map(list, columns), strict=True)),
            },
        )  # fmt: skip
    result.imported = len(valid)
    result.failed = len(invalid)
    return result


def _upsert_products(
    session: Session, source: str, products: list[PreparedProduct]
) -> dict[str, tuple[int, str]]:
    """Upsert in one pipelined batch; returns source_id -> (product id, outcome)."""
    if not products:
        return {}
    written: dict[str, tuple[int, str]] = {}
    with psycopg_connection(session).cursor() as cursor:
        cursor.executemany(UPSERT_PRODUCT, [p.values for p in products], returning=True)
        while True:
            for product_id, source_id, inserted in cursor.fetchall():
                written[source_id] = (product_id, ItemOutcome.CREATED if inserted else ItemOutcome.UPDATED)
            if not cursor.nextset():
                break
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

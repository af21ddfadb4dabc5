"""Jobs over products already stored: batch-optimize and publishing outside an import.

Such a job has no import: its items start at a later stage (optimize, publish) with the products
named by id, in chunks as an import's are, and then go on as any job's do, polled at the same status
URL. Duplicate ids count once; an id that names no product fails alone, with the reason, in the
job's errors.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ImportJob, ItemStatus, JobStatus, Product
from services.platform.db import psycopg_connection

CHUNK_SIZE = 500


@dataclass(frozen=True, slots=True)
class StoredProductsJob:
    job_id: uuid.UUID
    chunks: list[int]  # the chunk numbers to send the first stage for
    received: int
    missing: int  # ids that name no product: failed items


def start_job_over_products(
    session: Session, product_ids: Sequence[int], *, stage: str, source: str, options: Mapping[str, Any]
) -> StoredProductsJob:
    """A running job whose items wait at `stage`, one per distinct id (the caller sends the stage's
    messages for `chunks` once it commits)."""
    ids = list(dict.fromkeys(product_ids))
    rows = session.execute(select(Product.id, Product.source_id).where(Product.id.in_(ids)))
    found: dict[int, str] = {product_id: source_id for product_id, source_id in rows}
    job_id = uuid.uuid4()
    session.add(
        ImportJob(
            id=job_id, source=source, status=JobStatus.RUNNING, started_at=func.now(),
            total_products=len(ids), options=dict(options),
        )
    )  # fmt: skip
    session.flush()
    chunks: list[tuple[Any, ...]] = []
    items: list[tuple[Any, ...]] = []
    for number, first in enumerate(range(0, len(ids), CHUNK_SIZE)):
        chunk = ids[first : first + CHUNK_SIZE]
        chunks.append((job_id, number, first, len(chunk), "[]", ItemStatus.DONE))
        for position, product_id in enumerate(chunk, start=first):
            if product_id in found:
                items.append((job_id, position, found[product_id], product_id, ItemStatus.PENDING, None))
            else:
                error = Jsonb(
                    [{"field": f"product_ids[{position}]", "error": f"no product with id {product_id}"}]
                )
                items.append((job_id, position, None, None, ItemStatus.FAILED, error))
    with psycopg_connection(session).cursor() as cursor:
        cursor.executemany(
            "INSERT INTO job_chunks (job_id, number, first_position, size, products, status)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            chunks,
        )
        cursor.executemany(
            "INSERT INTO job_items (job_id, position, source_id, product_id, status, errors, stage)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(*item, stage) for item in items],
        )
    return StoredProductsJob(job_id, [number for _, number, *_ in chunks], len(ids), len(ids) - len(found))

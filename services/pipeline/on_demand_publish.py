"""Publishing outside an import (`/api/export/publish/{id}`, `/api/export/bulk-publish`): a job over
stored products whose items start at the publish stage, recorded as the seed's `bulk_jobs` row too.

The job runs as any job's publish stage does (only publishable listings go out, idempotent by SKU,
change-only when live) and is polled at its status URL; its `bulk_jobs` row (same id) gets the counts
and errors when the job ends (services.pipeline.jobs.finish_if_done), and `bulk_job_view` adds each
listing's result from the sync log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import BulkJob, stages
from schemas.export import BulkJobRead, BulkResult
from services.pipeline import jobs
from services.pipeline.stored_products import StoredProductsJob, start_job_over_products

SOURCE = "export"  # the `source` of a publish job over stored products
_RESULTS = text(
    "SELECT product_id, marketplace, status, error_message, response_data -> 'ids' AS ids FROM sync_logs"
    " WHERE job_id = :job_id ORDER BY product_id, marketplace, id"
)


def start_publish_job(
    session: Session, product_ids: Sequence[int], marketplace: str, *, preview: bool
) -> StoredProductsJob:
    """The job (and its bulk_jobs row); the caller sends the publish stage for its chunks."""
    options = {"marketplaces": [marketplace], "publish": "preview" if preview else True, "kind": "publish"}
    job = start_job_over_products(session, product_ids, stage=stages.PUBLISH, source=SOURCE, options=options)
    session.add(
        BulkJob(
            id=job.job_id, job_type="preview" if preview else "publish", target_marketplace=marketplace,
            product_ids=list(dict.fromkeys(product_ids)), status="running", total_items=job.received,
        )
    )  # fmt: skip
    return job


def bulk_job_view(session: Session, bulk_id: uuid.UUID) -> BulkJobRead | None:
    row = session.scalar(select(BulkJob).where(BulkJob.id == bulk_id))
    if row is None:
        return None
    results = [
        BulkResult(
            product_id=r.product_id, marketplace=r.marketplace, status=r.status, issue=r.error_message,
            ids=r.ids or {},
        )
        for r in session.execute(_RESULTS, {"job_id": bulk_id})
    ]  # fmt: skip
    return BulkJobRead(
        id=row.id, job_type=row.job_type, target_marketplace=row.target_marketplace, status=row.status,
        total_items=row.total_items, processed_items=row.processed_items, failed_items=row.failed_items,
        errors=row.errors, results=results, status_url=jobs.status_path(row.id),
        created_at=row.created_at, completed_at=row.completed_at,
    )  # fmt: skip

"""The body of a job's callback: what an n8n workflow needs to go on without asking again."""

from __future__ import annotations

from typing import Any

from schemas.imports import JobRead

FIRST_ERRORS = 10


def job_summary(job: JobRead, *, status_url: str) -> dict[str, Any]:
    """`{"type": "job.finished", "job_id", "status", counts, stages, readiness, publishing, the first
    errors, "status_url", ...}`: JSON-ready."""
    return {
        "type": "job.finished",
        "job_id": str(job.id),
        "status": job.status,
        "source": job.source,
        "total_products": job.total_products,
        "processed_products": job.processed_products,
        "failed_products": job.failed_products,
        "stages": {stage: counts.model_dump() for stage, counts in job.stages.items()},
        "readiness": {m: view.model_dump() for m, view in job.readiness.items()},
        "publishing": {m: view.model_dump() for m, view in job.publishing.items()},
        "errors": [error.model_dump() for error in job.errors[:FIRST_ERRORS]],
        "error": job.error,
        "status_url": status_url,
        "created_at": job.created_at.isoformat(),
        "completed_at": job.completed_at.isoformat() if job.completed_at else None,
    }

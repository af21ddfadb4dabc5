"""Jobs on the test's session: accepted as the webhook accepts them, imported, or run to the end."""

from __future__ import annotations

import uuid
from typing import Any

from services.imports.envelope import ImportOptions, ImportRequest
from services.imports.intake import accept_import
from services.pipeline import jobs
from services.pipeline.stages.import_ import import_chunk
from tests.support.pipeline import run_pipeline


def new_job(session, products: list[Any], *, source: str = "allegro", chunk_size: int = 500, **options: Any):
    """A job accepted as the webhook accepts one (its products stored as one body, split into chunks of
    `chunk_size` when the job begins; nothing imported yet); `options` are the envelope's ImportOptions
    (marketplaces, pricing_profile...). Returns the job's id."""
    request = ImportRequest(source=source, products=products, options=ImportOptions(**options))
    accepted = accept_import(
        session, request, body_sha256=uuid.uuid4().hex * 2, body_bytes=1, chunk_size=chunk_size
    )
    return accepted.job_id


def run_job(session, job_id: uuid.UUID) -> str | None:
    """The import stage alone on every chunk (no later stage is sent), then the job's end; returns the
    job's status."""
    for number in jobs.begin_job(session, job_id):
        import_chunk(session, job_id, number)
    return jobs.finish_if_done(session, job_id)


def processed(session, products: list[Any], **options: Any):
    """A new job (`options` as new_job takes them) run through every stage; returns its id."""
    job_id = new_job(session, products, **options)
    run_pipeline(session, job_id)
    return job_id

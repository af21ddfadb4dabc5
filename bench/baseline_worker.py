"""The straightforward import, for comparison: `dramatiq bench.baseline_worker`.

It consumes the same `pipeline.import_job` messages as the real worker, from the same queue, but does
what a first version would: for each product, select it by source id, insert or update it through
the ORM, and commit. Used only by bench/import_throughput.py.
"""

from __future__ import annotations

import uuid

import dramatiq
import orjson
from sqlalchemy import func, select, update

from bench.baseline_orm import import_one
from models import (
    ChunkStatus,
    ImportJob,
    ItemStatus,
    JobChunk,
    JobStatus,
    stages,
)
from services.imports.intake import split_body
from services.pipeline import jobs
from services.platform.settings import get_settings
from workers.broker import broker
from workers.db import session_scope


@dramatiq.actor(actor_name="pipeline.import_job", queue_name=get_settings().worker_queue, broker=broker)
def import_job(job_id: str) -> None:
    key = uuid.UUID(job_id)
    with session_scope() as session:
        job = session.get(ImportJob, key)
        assert job is not None
        job.status, job.started_at = JobStatus.RUNNING, func.now()
        split_body(session, key)  # the webhook's stored products, as job_chunks
        source = job.source
        chunks = session.execute(
            select(JobChunk.first_position, JobChunk.products).where(JobChunk.job_id == key)
        ).all()
    raw_products = [
        (first + offset, raw)
        for first, products in chunks
        for offset, raw in enumerate(orjson.loads(products))
    ]

    for position, raw in raw_products:
        with session_scope() as session:
            import_one(session, key, source, position, raw, stage=stages.IMPORT, status=ItemStatus.DONE)

    with session_scope() as session:
        session.execute(update(JobChunk).where(JobChunk.job_id == key).values(status=ChunkStatus.DONE))
        jobs.finish_if_done(session, key)

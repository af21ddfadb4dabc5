"""The import stage's actors: thin glue between messages, the session scope and services.

`import_job` starts a job and fans it out in chunks; `import_chunk` imports one chunk. When retries
run out, `import_chunk_gave_up` fails that chunk's products and `import_job_gave_up` fails the job,
each with the reason, so that no job stays `running` for ever.
"""

from __future__ import annotations

import uuid
from typing import Any

import dramatiq
import structlog

from models import JobStatus, stages
from services.pipeline import jobs
from services.pipeline.stages import import_ as product_import
from workers import messages
from workers import metrics as worker_metrics
from workers.broker import QUEUE, RETRY_OPTIONS, broker
from workers.db import session_scope
from workers.finish import finish_job, gave_up_reason, resend_waiting, start_callback
from workers.messages import send_stage
from workers.outbox import send_after_commit

log = structlog.get_logger(__name__)


@dramatiq.actor(
    actor_name=messages.IMPORT_JOB,
    queue_name=QUEUE,
    broker=broker,
    on_retry_exhausted="pipeline.import_job_gave_up",
    **RETRY_OPTIONS,
)
def import_job(job_id: str) -> None:
    with session_scope() as session:
        try:
            chunks = jobs.begin_job(session, uuid.UUID(job_id))
        except jobs.JobNotFound:
            log.warning("import.job_not_found")  # deleted since it was sent: nothing to do
            return
        for number in chunks:
            send_after_commit(session, messages.import_chunk(job_id, number))
        # Chunks imported already whose items wait at a later stage: their message may be lost
        # (this is how the sweeper revives a stalled job), and a duplicate does no harm.
        waiting = jobs.waiting_stage_chunks(session, uuid.UUID(job_id))
        for stage, number in waiting:
            send_stage(session, stage, job_id, number)
    log.info("import.job_started", chunks=len(chunks), waiting_chunks=len(waiting))
    if not chunks and not waiting:
        finish_job(job_id)


@dramatiq.actor(
    actor_name=messages.IMPORT_CHUNK,
    queue_name=QUEUE,
    broker=broker,
    on_retry_exhausted="pipeline.import_chunk_gave_up",
    **RETRY_OPTIONS,
)
def import_chunk(job_id: str, number: int) -> None:
    with session_scope() as session:
        result = product_import.import_chunk(
            session, uuid.UUID(job_id), number, next_stage=stages.next_stage(stages.IMPORT)
        )
        if result.imported:
            send_stage(session, stages.NORMALIZE, job_id, number)
    log.info(
        "import.chunk_done",
        chunk=number,
        imported=result.imported,
        failed=result.failed,
        outcomes=dict(result.outcomes),
        product_ids=result.product_ids,
    )
    worker_metrics.import_done(result)
    if result.failed_source_ids:
        log.info("import.products_invalid", source_ids=result.failed_source_ids)
    if not result.imported and not resend_waiting(stages.IMPORT, job_id, number):
        finish_job(job_id)


@dramatiq.actor(actor_name="pipeline.import_job_gave_up", queue_name=QUEUE, broker=broker, **RETRY_OPTIONS)
def import_job_gave_up(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    (job_id,) = message["args"]
    reason = gave_up_reason("the job could not start", message, retry_info)
    with session_scope() as session:
        jobs.fail_job(session, uuid.UUID(job_id), reason)
        start_callback(session, job_id)  # a job that failed as a whole calls back too
    log.error("import.job_gave_up", job_id=job_id, reason=reason)
    worker_metrics.job_finished(job_id, JobStatus.FAILED)


@dramatiq.actor(actor_name="pipeline.import_chunk_gave_up", queue_name=QUEUE, broker=broker, **RETRY_OPTIONS)
def import_chunk_gave_up(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    job_id, number = message["args"]
    reason = gave_up_reason("import failed", message, retry_info)
    with session_scope() as session:
        failed = jobs.fail_chunk(session, uuid.UUID(job_id), number, reason=reason)
    log.error("import.chunk_gave_up", job_id=job_id, chunk=number, items_failed=failed)
    worker_metrics.gave_up(stages.IMPORT, failed)
    finish_job(job_id)

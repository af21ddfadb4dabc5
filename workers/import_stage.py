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

from services import jobs, product_import
from services.settings import get_settings
from workers.broker import broker
from workers.db import session_scope
from workers.outbox import send_after_commit

log = structlog.get_logger(__name__)
QUEUE = get_settings().worker_queue

# Transient failures (database restart, lost connection) retry with backoff; bad data never raises
# (it is recorded per product), so retries are for the machinery, and bounded.
RETRY_OPTIONS: dict[str, Any] = {"max_retries": 8, "min_backoff": 500, "max_backoff": 30_000}


@dramatiq.actor(
    actor_name="pipeline.import_job",
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
            send_after_commit(session, import_chunk.message(job_id, number))
    log.info("import.job_started", chunks=len(chunks))
    if not chunks:
        _finish(job_id)


@dramatiq.actor(
    actor_name="pipeline.import_chunk",
    queue_name=QUEUE,
    broker=broker,
    on_retry_exhausted="pipeline.import_chunk_gave_up",
    **RETRY_OPTIONS,
)
def import_chunk(job_id: str, number: int) -> None:
    with session_scope() as session:
        result = product_import.import_chunk(session, uuid.UUID(job_id), number)
    log.info(
        "import.chunk_done",
        chunk=number,
        imported=result.imported,
        failed=result.failed,
        outcomes=dict(result.outcomes),
        product_ids=result.product_ids,
    )
    if result.failed_source_ids:
        log.info("import.products_invalid", source_ids=result.failed_source_ids)
    _finish(job_id)


@dramatiq.actor(actor_name="pipeline.import_job_gave_up", queue_name=QUEUE, broker=broker, **RETRY_OPTIONS)
def import_job_gave_up(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    (job_id,) = message["args"]
    reason = gave_up_reason("the job could not start", message, retry_info)
    with session_scope() as session:
        jobs.fail_job(session, uuid.UUID(job_id), reason)
    log.error("import.job_gave_up", job_id=job_id, reason=reason)


@dramatiq.actor(actor_name="pipeline.import_chunk_gave_up", queue_name=QUEUE, broker=broker, **RETRY_OPTIONS)
def import_chunk_gave_up(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    job_id, number = message["args"]
    reason = gave_up_reason("import failed", message, retry_info)
    with session_scope() as session:
        failed = jobs.fail_chunk(session, uuid.UUID(job_id), number, reason=reason)
    log.error("import.chunk_gave_up", job_id=job_id, chunk=number, items_failed=failed)
    _finish(job_id)


def gave_up_reason(what: str, message: dict[str, Any], retry_info: dict[str, Any]) -> str:
    """What failed, how often, and the exception's type (never its text: it may quote SQL)."""
    last_line = (message.get("options", {}).get("traceback") or "").strip().rsplit("\n", 1)[-1]
    error = last_line.split(":", 1)[0].rsplit(".", 1)[-1] or "an error"
    return f"{what} after {retry_info.get('retries', '?')} attempts ({error}); see the worker's log"


def _finish(job_id: str) -> None:
    # Its own transaction, after the chunk's commit: the last chunk to commit sees all the others.
    with session_scope() as session:
        status = jobs.finish_if_done(session, uuid.UUID(job_id))
    if status:
        log.info("import.job_finished", status=status)

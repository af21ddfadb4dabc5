"""The job-end callback actor: one attempt per message, thin glue around services.callbacks.

A job that ends with a callback URL gets its callback started (workers/finish.py); each message
makes the next attempt, records it, and sends itself again after the backoff while retries are left
(services.callbacks.schedule). Sent from a worker, never from a request. At least once: a worker
dying mid-attempt means another attempt, with the same `webhook-id` so the receiver can drop it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import dramatiq
import orjson
import structlog

from services.callbacks import store
from services.callbacks.delivery import deliver
from services.callbacks.schedule import next_step
from services.callbacks.summary import job_summary
from services.pipeline import jobs
from services.platform.metrics import record_callback_attempt
from services.platform.settings import get_settings
from workers import messages
from workers.broker import QUEUE, RETRY_OPTIONS, broker
from workers.db import session_scope
from workers.outbox import send_after_commit

log = structlog.get_logger(__name__)


@dramatiq.actor(actor_name=messages.SEND_CALLBACK, queue_name=QUEUE, broker=broker, **RETRY_OPTIONS)
def send_callback(job_id: str) -> None:
    settings = get_settings()
    job = uuid.UUID(job_id)
    with session_scope() as session:
        due = store.due(session, job)
        if due is None:
            return  # delivered or given up already (a repeated message)
        view = jobs.job_view(session, job, errors_limit=10)
    status_url = settings.public_url.rstrip("/") + jobs.status_path(job_id)
    body = orjson.dumps(job_summary(view, status_url=status_url))
    attempt = deliver(
        due.url, body, webhook_id=f"job_{job_id}_{view.status}", key=settings.callback_signing_key,
        headers=due.headers, timeout_seconds=settings.callback_timeout_seconds,
        allow_private=settings.callbacks_may_reach_private_networks,
    )  # fmt: skip
    number = due.attempts + 1
    step = next_step(attempt, number, due.completed_at, datetime.now(UTC), settings.callback_retry_seconds)
    with session_scope() as session:
        store.record(session, job, number, attempt, final=step.final)
        if step.retry_in_seconds is not None:
            later = messages.send_callback(job_id, delay_ms=int(step.retry_in_seconds * 1000))
            send_after_commit(session, later)
    record_callback_attempt(attempt.outcome)
    log.info(
        "callback.attempt", attempt=number, outcome=attempt.outcome, status_code=attempt.status_code,
        error=attempt.error, final=step.final, retry_in_seconds=step.retry_in_seconds,
    )  # fmt: skip

"""What every stage actor does at its end: close the job when nothing is pending, re-send the later
stages a chunk waits at, and say why it gave up."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.orm import Session

from services.callbacks import store as callback_store
from services.pipeline import jobs
from workers import messages
from workers.db import session_scope
from workers.messages import send_stage
from workers.metrics import job_finished
from workers.outbox import send_after_commit

log = structlog.get_logger(__name__)


def finish_job(job_id: str) -> None:
    """Close the job if its items have all passed or failed their last stage, and start its callback.

    Its own transaction, after the chunk's commit: the last chunk to commit sees all the others.
    """
    with session_scope() as session:
        status = jobs.finish_if_done(session, uuid.UUID(job_id))
        if status:
            start_callback(session, job_id)
    if status:
        log.info("job.finished", status=status)
        job_finished(job_id, status)


def start_callback(session: Session, job_id: str) -> None:
    """The ended job's callback, when it has one: its first attempt is sent after the commit."""
    if callback_store.start(session, uuid.UUID(job_id)):
        send_after_commit(session, messages.send_callback(job_id))


def gave_up_reason(what: str, message: dict[str, Any], retry_info: dict[str, Any]) -> str:
    """What failed, how often, and the exception's type (never its text: it may quote SQL)."""
    last_line = (message.get("options", {}).get("traceback") or "").strip().rsplit("\n", 1)[-1]
    error = last_line.split(":", 1)[0].rsplit(".", 1)[-1] or "an error"
    return f"{what} after {retry_info.get('retries', '?')} attempts ({error}); see the worker's log"


def resend_waiting(stage: str, job_id: str, number: int) -> bool:
    """Nothing was waiting at `stage`: send again the messages of the later stages where the chunk's
    items wait (see jobs.waiting_after). Returns whether there were any."""
    with session_scope() as session:
        later = jobs.waiting_after(session, uuid.UUID(job_id), number, stage)
        for waiting_stage in later:
            send_stage(session, waiting_stage, job_id, number)
    if later:
        log.info(f"{stage}.resent_later_stages", chunk=number, stages=later)
    return bool(later)

"""What every stage actor does at its end: close the job when nothing is pending, and say why it gave up."""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from services import jobs
from workers.db import session_scope

log = structlog.get_logger(__name__)


def finish_job(job_id: str) -> None:
    """Close the job if its items have all passed or failed their last stage.

    Its own transaction, after the chunk's commit: the last chunk to commit sees all the others.
    """
    with session_scope() as session:
        status = jobs.finish_if_done(session, uuid.UUID(job_id))
    if status:
        log.info("job.finished", status=status)


def gave_up_reason(what: str, message: dict[str, Any], retry_info: dict[str, Any]) -> str:
    """What failed, how often, and the exception's type (never its text: it may quote SQL)."""
    last_line = (message.get("options", {}).get("traceback") or "").strip().rsplit("\n", 1)[-1]
    error = last_line.split(":", 1)[0].rsplit(".", 1)[-1] or "an error"
    return f"{what} after {retry_info.get('retries', '?')} attempts ({error}); see the worker's log"

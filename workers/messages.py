"""The pipeline's messages, built by actor name (workers; imports settings and the outbox only).

The API, the sweeper and the actors send work through these functions, so that sending a message
never imports an actor module: the web process builds no worker state, and an actor module stays a
list of actors. Dramatiq resolves a message to its actor by `actor_name` when a worker takes it
(https://dramatiq.io/reference.html#dramatiq.Message), so the names here and in the actor
declarations are the contract between the two; tests/workers check that they match.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from sqlalchemy.orm import Session

from services.platform.settings import get_settings
from workers.outbox import send_after_commit

PREFIX = "pipeline."
IMPORT_JOB = PREFIX + "import_job"
IMPORT_CHUNK = PREFIX + "import_chunk"
SEND_CALLBACK = PREFIX + "send_callback"


def stage_actor_name(stage: str) -> str:
    """`pipeline.normalize_chunk` for the stage `normalize`: one actor per stage, working a chunk."""
    return f"{PREFIX}{stage}_chunk"


def stage_of(actor_name: str) -> str:
    return actor_name.removeprefix(PREFIX).removesuffix("_chunk")


def message(actor_name: str, *args: Any, **options: Any) -> dramatiq.Message[Any]:
    """A message for the actor called `actor_name` on the pipeline's queue. Options go to the
    broker and the middleware (`delay` in milliseconds, `request_id` for the log context)."""
    return dramatiq.Message(
        queue_name=get_settings().worker_queue, actor_name=actor_name, args=args, kwargs={}, options=options
    )


def import_job(job_id: str, *, request_id: str | None = None) -> dramatiq.Message[Any]:
    options = {"request_id": request_id} if request_id else {}
    return message(IMPORT_JOB, job_id, **options)


def import_chunk(job_id: str, number: int) -> dramatiq.Message[Any]:
    return message(IMPORT_CHUNK, job_id, number)


def stage_chunk(
    stage: str, job_id: str, number: int, *, delay_ms: int | None = None
) -> dramatiq.Message[Any]:
    options = {"delay": delay_ms} if delay_ms is not None else {}
    return message(stage_actor_name(stage), job_id, number, **options)


def send_stage(session: Session, stage: str, job_id: str, number: int) -> None:
    """Send the message of `stage` for chunk `number`, after the session commits."""
    send_after_commit(session, stage_chunk(stage, job_id, number))


def send_callback(job_id: str, *, delay_ms: int | None = None) -> dramatiq.Message[Any]:
    """The job-end callback's next attempt (workers/callbacks.py)."""
    options = {"delay": delay_ms} if delay_ms is not None else {}
    return message(SEND_CALLBACK, job_id, **options)

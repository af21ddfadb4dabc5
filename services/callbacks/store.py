"""A job's callback in the database: whether one is due, each attempt, and the job's callback status.

Started once per job end (`start`: the job must have a callback URL and no callback status yet, so a
second `finish` of the same job sends nothing twice); every attempt is a `callback_attempts` row, and
the status ends as `delivered` or `failed`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from models import CallbackAttempt, CallbackStatus, ImportJob
from services.callbacks.delivery import Attempt


@dataclass(frozen=True, slots=True)
class DueCallback:
    url: str
    headers: dict[str, str]
    completed_at: datetime | None
    attempts: int  # made so far


def start(session: Session, job_id: uuid.UUID) -> bool:
    """Mark the ended job's callback pending; False when it has none or it was started already."""
    started = session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == job_id,
            ImportJob.callback_status.is_(None),
            ImportJob.options["callback_url"].astext.is_not(None),
        )
        .values(callback_status=CallbackStatus.PENDING)
        .returning(ImportJob.id)
    ).scalar_one_or_none()
    return started is not None


def due(session: Session, job_id: uuid.UUID) -> DueCallback | None:
    """The pending callback of the job (None: delivered, failed, or none)."""
    row = session.execute(
        select(ImportJob.options, ImportJob.completed_at).where(
            ImportJob.id == job_id, ImportJob.callback_status == CallbackStatus.PENDING
        )
    ).one_or_none()
    if row is None:
        return None
    options: dict[str, Any] = row.options
    made = session.scalar(select(func.count()).where(CallbackAttempt.job_id == job_id)) or 0
    return DueCallback(
        url=options["callback_url"],
        headers=dict(options.get("callback_headers") or {}),
        completed_at=row.completed_at,
        attempts=made,
    )


def record(session: Session, job_id: uuid.UUID, number: int, attempt: Attempt, *, final: str | None) -> None:
    """Keep an attempt; `final` (delivered, failed) ends the callback."""
    session.add(
        CallbackAttempt(
            job_id=job_id, attempt=number, status_code=attempt.status_code, error=attempt.error,
            duration_ms=attempt.duration_ms, outcome=attempt.outcome,
        )
    )  # fmt: skip
    if final is not None:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(callback_status=final))


def claim_lost(session: Session, *, after_seconds: float) -> list[uuid.UUID]:
    """Pending callbacks nobody has tried for `after_seconds` (their message was lost: Redis was
    down when it was sent, or the worker died holding it), claimed so that one sweeper re-sends
    each (their `updated_at` is touched: the next sweep leaves them for as long again)."""
    return list(
        session.execute(
            text(
                "UPDATE import_jobs j SET updated_at = now() WHERE j.id IN ("
                " SELECT i.id FROM import_jobs i WHERE i.callback_status = :pending"
                " AND greatest(i.completed_at, i.updated_at, (SELECT max(a.created_at)"
                " FROM callback_attempts a WHERE a.job_id = i.id)) < now() - make_interval(secs => :after)"
                " ORDER BY i.completed_at LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING j.id"
            ),
            {"pending": CallbackStatus.PENDING, "after": after_seconds},
        ).scalars()
    )

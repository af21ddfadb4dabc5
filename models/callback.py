"""The job-end callbacks (`options.callback_url`): every attempt to deliver one, with its answer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class CallbackStatus:
    PENDING = "pending"  # the job ended; a delivery is under way (or waiting to be retried)
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # refused for good, or still failing when the retry time ran out


class CallbackAttempt(Base):
    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(SmallInteger)
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: no answer (refused, unreachable)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # delivered, retry, failed
    created_at: Mapped[datetime] = created_at_column()

"""One line per exchange with a marketplace (publish, update, preview) and per listing the publish
stage skipped, with why: the seed's audit trail, plus the job and the values before and after."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class SyncLog(Base):
    __tablename__ = "sync_logs"
    __table_args__ = (
        Index("ix_sync_logs_job_id", "job_id"),
        Index("ix_sync_logs_marketplace_status_created", "marketplace", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    product_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    marketplace: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    request_data: Mapped[dict[str, Any] | None]
    response_data: Mapped[dict[str, Any] | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None]
    old_values: Mapped[dict[str, Any] | None]  # price, quantity, copy key before (the last sent)
    new_values: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()

"""API keys: only a hash of each key is stored, with a short prefix to tell keys apart on screen."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("scope IN ('read', 'write')", name="scope"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8))
    # The key's first characters: not enough to use it, enough to recognise it in a list or a log.
    prefix: Mapped[str] = mapped_column(String(16))
    # sha256 of the whole key, hex. Keys are 256 random bits, so a fast hash is as good as a slow one.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    # Updated at most once a minute per key, so that reading does not mean writing on every request.
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

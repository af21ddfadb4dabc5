"""The model's copy, cached by what it was asked: the same source data for the same marketplace, with
the same prompt version and model, is never paid for twice.

`source_hash` is the sha256 of the DATA the model was sent (services.ai.prompts.data_message), so a
re-import of an unchanged product, or another product with the same data, finds its copy here. Only
answers are cached: copy that passed the checks ("optimized") and copy refused after a repair
("fallback", asking again would spend the same tokens on the same answer). When the model could not
be reached, nothing is cached and the next run asks again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class AiCopyCache(Base):
    __tablename__ = "ai_copy_cache"

    source_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(32), primary_key=True)
    prompt_version: Mapped[str] = mapped_column(String(16), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    ai_status: Mapped[str] = mapped_column(String(16))  # optimized / fallback
    title: Mapped[str | None] = mapped_column(Text)  # None for a fallback: the deterministic copy is used
    description_html: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    grounding: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()

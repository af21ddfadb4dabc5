"""A product on one target marketplace: its copy, its price, its quality score and its evaluation.

One row per (product, marketplace), written by the stages in turn. The copy is the deterministic one
from normalize (`ai_status` "deterministic") until the optimize stage replaces it with the model's
("optimized") or says why it kept it ("fallback", with `ai_reason`). Each stage stores the key of
the inputs it used (`normalize_key`, `price_key`, `score_key`): when a re-import brings the same
inputs, the stage finds the same key and skips the product.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, Numeric, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, updated_at_column


class Listing(Base):
    __tablename__ = "product_listings"
    __table_args__ = ({"postgresql_with": {"fillfactor": 85}},)

    product_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    marketplace: Mapped[str] = mapped_column(String(32), primary_key=True)
    # normalize: the product's clean title fitted to this marketplace's rules and the cleaned
    # description; optimize: the model's copy in their place, when it passed the checks
    title: Mapped[str | None] = mapped_column(Text)
    description_html: Mapped[str | None] = mapped_column(Text)
    normalize_key: Mapped[str | None] = mapped_column(String(64))
    ai_status: Mapped[str | None] = mapped_column(String(16))  # deterministic / optimized / fallback
    ai_reason: Mapped[str | None] = mapped_column(Text)  # why not optimized
    ai_grounding: Mapped[float | None] = mapped_column(Float)  # -1..1, of the model's last answer
    ai_model: Mapped[str | None] = mapped_column(String(64))
    ai_prompt_version: Mapped[str | None] = mapped_column(String(16))
    # what the copy cost when the model wrote it (a cached copy costs its job nothing)
    ai_prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    ai_completion_tokens: Mapped[int | None] = mapped_column(Integer)
    ai_key: Mapped[str | None] = mapped_column(String(64))  # the copy's inputs: skip when unchanged
    # price: the applied price; a decision that needs review is proposed, not applied. Prices and the
    # floor are gross: they include `vat_percent`; `fee_percent` is the marketplace fee the decision
    # used (the margin of the rules is taken with both, services.pricing.margin)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    price_status: Mapped[str | None] = mapped_column(String(16))
    proposed_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    price_key: Mapped[str | None] = mapped_column(String(64))
    floor: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    vat_percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 3))
    fee_percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 3))
    # score: listing quality and the seller's rules
    quality_score: Mapped[int | None] = mapped_column(SmallInteger)
    grade: Mapped[str | None] = mapped_column(String(1))
    quality: Mapped[dict[str, Any] | None]  # the score's parts and fixes
    evaluation: Mapped[str | None] = mapped_column(String(16))
    rules: Mapped[dict[str, Any] | None]  # the rules that fired, and why
    score_key: Mapped[str | None] = mapped_column(String(64))
    # readiness (score stage): the copy's detected language (None: undetermined), whether the listing
    # may go out, and the blockers that say why not (services.scoring.readiness)
    language: Mapped[str | None] = mapped_column(String(8))
    publishable: Mapped[bool | None] = mapped_column(Boolean)
    blockers: Mapped[list[Any] | None]
    # publish (services.publishing): the SKU sent, the marketplace's ids (asin, offer_id, listing_id,
    # unit_id...), the last publish's status (published, updated, valid, rejected, failed, skipped)
    # and issues, and what was last sent (a re-import with only a new price or stock updates just those)
    sku: Mapped[str | None] = mapped_column(String(64))
    marketplace_ids: Mapped[dict[str, Any] | None]
    publish_status: Mapped[str | None] = mapped_column(String(16))
    publish_issues: Mapped[list[Any] | None]
    published_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    published_quantity: Mapped[int | None] = mapped_column(Integer)
    published_copy_key: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = updated_at_column()

"""Pricing profiles (how a seller prices) and the price history (every decision, with its why)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, Numeric, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, updated_at_column

PERCENT = Numeric(7, 3)
MONEY = Numeric(12, 2)
PROFILE_NAME_MAX_LENGTH = 100


class PricingProfileRow(Base):
    """A stored services.pricing.PricingProfile; exactly one is the default (a partial unique index)."""

    __tablename__ = "pricing_profiles"
    __table_args__ = (
        Index("uq_pricing_profiles_default", "is_default", unique=True, postgresql_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(PROFILE_NAME_MAX_LENGTH), unique=True)
    is_default: Mapped[bool] = mapped_column(server_default="false")
    strategy: Mapped[str] = mapped_column(String(32))
    fallback_strategy: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    markup_percent: Mapped[Decimal] = mapped_column(PERCENT, server_default="0")
    beat_by_amount: Mapped[Decimal] = mapped_column(MONEY, server_default="0")
    beat_by_percent: Mapped[Decimal] = mapped_column(PERCENT, server_default="0")
    min_price: Mapped[Decimal | None] = mapped_column(MONEY)
    max_price: Mapped[Decimal | None] = mapped_column(MONEY)
    margin_floor_percent: Mapped[Decimal | None] = mapped_column(PERCENT)
    charm_ending: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    max_change_percent: Mapped[Decimal | None] = mapped_column(PERCENT)
    # Offers seen on other marketplaces count too (converted); else a marketplace's own offers only.
    use_other_marketplaces: Mapped[bool] = mapped_column(server_default="false")
    # Without a cost, a price below this share of the source price (both net) needs review.
    min_source_percent: Mapped[Decimal | None] = mapped_column(PERCENT)
    # The seller's own fee per marketplace, {"ebay_de": "9.5"}; others use the marketplace's usual fee.
    marketplace_fees: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    # Reduced VAT rates per country and category, {"DE": {"Bücher": "7"}}; else the country's rate.
    category_vat_rates: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PriceRecord(Base):
    """One price decision for a product on a marketplace, made by one job (`pricing_data`).

    `competitors` holds every offer as the decision saw it, each with `is_outlier` and whether it
    counted. One row per (product, marketplace, job): a redelivered price message writes none twice.
    """

    __tablename__ = "pricing_data"
    __table_args__ = (
        Index("uq_pricing_data_product_marketplace_job", "product_id", "marketplace", "job_id", unique=True),
        Index("ix_pricing_data_product_created", "product_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"))
    marketplace: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[uuid.UUID | None]
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    applied: Mapped[bool]
    outliers: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    competitors: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    decision: Mapped[dict[str, Any]]  # strategy, floor, steps, reasons, profile, rates' date
    created_at: Mapped[datetime] = created_at_column()

"""A product as imported from a source marketplace, unique on (source_platform, source_id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, updated_at_column


class ProductStatus:
    """How far the product got, as the seed's clients read it in `by_status`."""

    IMPORTED = "imported"
    NORMALIZED = "normalized"
    SCORED = "scored"  # normalized, priced and scored: the price stage changes no product row


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("source_platform", "source_id"),
        Index("ix_products_status", "status"),
        Index("ix_products_created_at", "created_at"),
        # Stage updates rewrite rows: leave room on each page so they can stay HOT.
        {"postgresql_with": {"fillfactor": 85}},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_platform: Mapped[str] = mapped_column(String(50))
    source_id: Mapped[str] = mapped_column(String(255))
    source_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    stock: Mapped[int | None]
    brand: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    ean: Mapped[str | None] = mapped_column(String(64))
    images: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    attributes: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    competitors: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    # Keys of the scraped product that we have no column for: kept, never dropped.
    raw_data: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(String(32), server_default=ProductStatus.IMPORTED)
    optimized_title: Mapped[str | None] = mapped_column(Text)
    optimized_description: Mapped[str | None] = mapped_column(Text)
    optimization_score: Mapped[float | None]
    marketplace_data: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    # sha256 of what the scrape says about the item (title, copy, images, attributes...) and,
    # apart, of its offer (price, cost, stock, competitors): a re-import whose hashes match changes
    # nothing downstream, and one whose offer alone changed need not be normalized again.
    content_hash: Mapped[str] = mapped_column(String(64))
    offer_hash: Mapped[str] = mapped_column(String(64))
    last_import_job_id: Mapped[uuid.UUID | None]
    # Written by the normalize stage: the columns people filter on, and the whole result (with
    # what was changed and why) for the explain endpoint. normalize_key: the inputs it came from.
    normalized_title: Mapped[str | None] = mapped_column(Text)
    normalized_brand: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    category_path: Mapped[str | None] = mapped_column(Text)
    specifications: Mapped[list[Any] | None]
    normalized: Mapped[dict[str, Any] | None]
    normalize_key: Mapped[str | None] = mapped_column(String(64))
    # Written by the score stage: the worst evaluation over the product's marketplaces.
    evaluation: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

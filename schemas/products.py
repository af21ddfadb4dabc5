"""Products as the API shows them (the seed's fields, kept for its clients, plus ours)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_platform: str
    source_id: str
    source_url: str | None
    title: str
    description: str | None
    price: Decimal | None
    currency: str | None
    cost: Decimal | None
    stock: int | None
    brand: str | None
    category: str | None
    ean: str | None
    images: list[Any]
    attributes: dict[str, Any]
    competitors: list[Any]
    raw_data: dict[str, Any]
    status: str
    optimized_title: str | None
    optimized_description: str | None
    optimization_score: float | None
    marketplace_data: dict[str, Any]
    last_import_job_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductRead]
    total: int
    page: int
    page_size: int
    total_pages: int


class ProductDeleted(BaseModel):
    status: str = "success"
    message: str = "Product deleted"


class ProductStats(BaseModel):
    total_products: int
    by_status: dict[str, int]
    by_source: dict[str, int]

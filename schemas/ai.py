"""Requests and answers of the `/api/ai/*` routes (the seed's, with what the copy cost added)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from schemas.products import ProductDetail


class CopyRead(BaseModel):
    """The copy one request produced for one marketplace, and what it cost."""

    marketplace: str
    title: str
    description_html: str
    ai_status: str  # optimized / fallback / deterministic
    ai_reason: str | None  # why not optimized
    grounding: float | None  # -1..1: how much of the copy the source supports
    prompt_tokens: int  # spent by this request: 0 when the copy was current or cached
    completion_tokens: int
    source: str  # model / cache / listing (already current) / deterministic


class OptimizedProduct(ProductDetail):
    """`POST /api/ai/optimize/{id}`: the product (as `GET /api/products/{id}` reads it), and the copy."""

    ai: CopyRead


class OptimizedTitle(BaseModel):
    product_id: int
    original_title: str
    optimized_title: str
    marketplace: str
    ai: CopyRead


class OptimizedDescription(BaseModel):
    product_id: int
    original_description: str | None
    optimized_description: str
    marketplace: str
    ai: CopyRead


# Product ids are bigint: a larger number is a clear 422, not a database error.
ProductIdIn = Annotated[int, Field(ge=1, le=2**63 - 1)]


class BatchOptimizeIn(BaseModel):
    product_ids: list[ProductIdIn] = Field(min_length=1, max_length=10_000)
    target_marketplace: str = Field(default="amazon_de", max_length=32)

"""Products as the API shows them (the seed's fields, kept for its clients, plus ours)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Blocker(BaseModel):
    """Why a listing may not go out: a code (language, price, rules, missing, copy) and a sentence."""

    code: str
    message: str


class ListingRead(BaseModel):
    """A product on one target marketplace: its copy, price, quality and evaluation."""

    model_config = ConfigDict(from_attributes=True)

    marketplace: str
    title: str | None
    description_html: str | None = None
    # How the copy was written: optimized (by the model) / fallback (the model's failed; `ai_reason`
    # says why) / deterministic (no model asked; `ai_reason` says why)
    ai_status: str | None = None
    ai_reason: str | None = None
    ai_grounding: float | None = None
    ai_model: str | None = None
    ai_prompt_tokens: int | None = None
    ai_completion_tokens: int | None = None
    price: Decimal | None
    currency: str | None
    price_status: str | None
    proposed_price: Decimal | None
    quality_score: int | None
    grade: str | None
    evaluation: str | None
    # Whether the listing may go out on its marketplace; when not, each blocker says why (code:
    # language / price / rules / missing / copy). None: not scored yet.
    publishable: bool | None = None
    blockers: list[Blocker] = Field(default_factory=list)
    language: str | None = None  # the copy's language as detected; None: it cannot be told
    # Publishing: the SKU sent, the marketplace's ids (asin / sku / submission_id, offer_id and
    # listing_id, unit_id), the last publish's status (published, updated, unchanged, valid,
    # rejected, failed, skipped) with the marketplace's issues, and what was last sent live.
    sku: str | None = None
    marketplace_ids: dict[str, Any] = Field(default_factory=dict)
    publish_status: str | None = None
    publish_issues: list[str] = Field(default_factory=list)
    published_price: Decimal | None = None
    published_quantity: int | None = None
    published_at: datetime | None = None
    updated_at: datetime

    @field_validator("blockers", "publish_issues", mode="before")
    @classmethod
    def _none_as_empty(cls, value: object) -> object:
        return [] if value is None else value

    @field_validator("marketplace_ids", mode="before")
    @classmethod
    def _none_as_no_ids(cls, value: object) -> object:
        return {} if value is None else value


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
    # What the stages made of it.
    normalized_title: str | None
    normalized_brand: str | None
    model: str | None
    category_path: str | None
    evaluation: str | None
    listings: list[ListingRead] = Field(default_factory=list)


class ProductDetail(ProductRead):
    specifications: list[Any] | None


class ProductPage(BaseModel):
    items: list[ProductRead]
    total: int
    page: int
    page_size: int
    total_pages: int
    # The next page's URL (absolute path, the same query parameters), or None on the last page.
    next: str | None = None


class ProductDeleted(BaseModel):
    status: str = "success"
    message: str = "Product deleted"


class ProductStats(BaseModel):
    total_products: int
    by_status: dict[str, int]
    by_source: dict[str, int]
    by_evaluation: dict[str, int]


class PriceExplanation(BaseModel):
    """The latest price decision on one marketplace, step by step."""

    summary: str  # the steps in one line, as a seller reads them
    price: Decimal | None
    currency: str
    status: str  # priced / needs_review / no_price
    applied: bool
    strategy_used: str | None
    floor: Decimal | None
    steps: list[str]
    reasons: list[str]
    competitors: list[dict[str, Any]]  # every offer, with is_outlier, counted and the reason if not
    profile: str
    marketplace_fee_percent: Decimal | None
    rates_as_of: str | None
    job_id: uuid.UUID | None
    decided_at: datetime


class MarketplaceExplanation(BaseModel):
    listing: ListingRead
    title_changes: list[str]  # how the clean title was fitted to this marketplace
    price: PriceExplanation | None
    quality: dict[str, Any] | None  # score, grade, parts (with their checks) and fixes
    rules: dict[str, Any] | None  # status, the rules that fired and why, preference


class ProductExplanation(BaseModel):
    """`GET /api/products/{id}/explain`: every stage's result for one product, and why."""

    product_id: int
    source_id: str
    original_title: str
    status: str
    evaluation: str | None
    normalize: dict[str, Any] | None  # brand/model/category with confidence, specs, EAN check, changes
    marketplaces: dict[str, MarketplaceExplanation]


class PriceChange(BaseModel):
    """From the previous price decision of the same marketplace to this one."""

    previous_price: Decimal
    amount: Decimal  # this price minus the previous one
    percent: Decimal | None  # of the previous price; None when it was 0


class PriceHistoryEntry(BaseModel):
    """One stored price decision (one per job and marketplace) and what moved it."""

    job_id: uuid.UUID | None
    marketplace: str
    price: Decimal | None
    currency: str
    status: str  # priced / needs_review / no_price
    applied: bool
    created_at: datetime
    strategy_used: str | None
    # One line: the decision's reasons (why a price was held or is missing), else its last step.
    why: str | None
    reasons: list[str]
    # None for a marketplace's first decision, when either has no price, or their currencies differ.
    change: PriceChange | None


class PriceHistory(BaseModel):
    """`GET /api/products/{id}/price-history`: the product's price decisions, newest first."""

    product_id: int
    items: list[PriceHistoryEntry]

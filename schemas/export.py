"""Shapes of the export routes: marketplaces, bulk publish jobs, sync logs (the feed is a file)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class MarketplaceStatus(BaseModel):
    """A marketplace and whether this deployment can publish to it."""

    id: str
    name: str
    # configured: credentials are set (`credentials_valid` says whether the marketplace took them,
    # when checked with ?check=true); not_configured: some are missing (`reason` names them);
    # feed_only: no API client here, the feed is the way out.
    status: Literal["configured", "not_configured", "feed_only"]
    configured: bool
    reason: str | None = None
    credentials_valid: bool | None = None  # None: not checked
    credentials_error: str | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None


class MarketplaceList(BaseModel):
    marketplaces: list[MarketplaceStatus]


class SyncLogEntry(BaseModel):
    id: int
    marketplace: str
    action: str  # publish, preview, update, unchanged, skip, fail
    status: str  # published, valid, updated, unchanged, rejected, failed, skipped
    job_id: str | None
    error_message: str | None
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    request_data: dict[str, Any] | None
    response_data: dict[str, Any] | None
    created_at: datetime


class SyncLogPage(BaseModel):
    product_id: int
    items: list[SyncLogEntry]


class BulkPublishIn(BaseModel):
    """The seed's bulk request: `{"job_type": "publish", "target_marketplace": "amazon", "product_ids":
    [...]}`; `job_type` "preview" validates with the marketplace without listing."""

    job_type: Literal["publish", "preview"] = "publish"
    target_marketplace: str = Field(default="amazon_de", max_length=32)
    product_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=10_000)


class BulkResult(BaseModel):
    """One listing of a bulk job: its publish status, the marketplace's reason when not published, its ids."""

    product_id: int
    marketplace: str
    status: str
    issue: str | None
    ids: dict[str, Any]


class BulkJobRead(BaseModel):
    id: uuid.UUID
    job_type: str
    target_marketplace: str | None
    status: str  # running, completed, completed_with_errors, failed
    total_items: int
    processed_items: int
    failed_items: int
    errors: list[Any]
    results: list[BulkResult]
    status_url: str  # the job's status, as an import job's
    created_at: datetime
    completed_at: datetime | None

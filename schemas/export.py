"""Shapes of the export routes: marketplaces, sync logs (the feed is a file, not a model)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


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

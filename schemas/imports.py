"""Response models of the import API: the job as clients poll it (its fields are a contract with
the n8n workflows and scrapers that read them; add fields, never rename them). The body a webhook
takes is the imports service's (services.imports.envelope)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ImportAccepted(BaseModel):
    job_id: uuid.UUID
    status: str
    status_url: str
    received: int
    # False when a repeated delivery (same Idempotency-Key) returned the first job.
    created: bool = True


class ProductImported(BaseModel):
    """`POST /api/import/product`: the seed imported one product synchronously; so do we."""

    product_id: int | None
    status: str
    outcome: str | None = None
    job_id: uuid.UUID
    status_url: str


class StageCounts(BaseModel):
    done: int = 0
    failed: int = 0


class AiUsage(BaseModel):
    """What the job's AI copy cost (tokens this job spent: cached copy costs nothing) and how the
    copy of its products' listings was written: optimized / fallback / deterministic."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0
    copy_status: dict[str, int] = Field(default_factory=dict)


class MarketplaceReadiness(BaseModel):
    """The job's listings on one marketplace (products that passed every stage): how many may go out,
    how many may not, and how many listings each blocker stops."""

    publishable: int = 0
    not_publishable: int = 0
    blockers: dict[str, int] = Field(default_factory=dict)


class MarketplacePublishing(BaseModel):
    """What the job's publish stage did on one marketplace, listing by listing: `published` (or
    `valid` in a preview), `updated` (a live offer's price and quantity only), `unchanged` (live and
    current: nothing sent), `paused` (live, but not publishable any more: set to quantity 0),
    `rejected` (by the marketplace, its reasons in the job's errors),
    `failed` (not sent: not configured, or the marketplace kept failing) and `skipped` (not
    publishable: the readiness counts say why)."""

    published: int = 0
    valid: int = 0
    updated: int = 0
    unchanged: int = 0
    paused: int = 0
    rejected: int = 0
    failed: int = 0
    skipped: int = 0


class JobError(BaseModel):
    source_id: str | None
    position: int
    stage: str
    field: str
    error: str


class JobRead(BaseModel):
    id: uuid.UUID
    status: str
    source: str
    total_products: int
    processed_products: int
    failed_products: int
    stages: dict[str, StageCounts]
    # What the import did: created / updated / unchanged / duplicate.
    outcomes: dict[str, int]
    # The seller's rules over the scored items: how many are ok, have a warning, are blocked.
    analysis: dict[str, int]
    ai: AiUsage = Field(default_factory=AiUsage)
    # Per marketplace of the job, once it has ended: its listings that may go out, and what stops the
    # others (empty while the job runs).
    readiness: dict[str, MarketplaceReadiness] = Field(default_factory=dict)
    # Only for a job that publishes (`options.publish`): per marketplace, what happened to its listings.
    publishing: dict[str, MarketplacePublishing] = Field(default_factory=dict)
    progress: float
    # The failed items' errors, the first ones by position (`failed_products` says how many failed).
    errors: list[JobError]
    error: str | None
    options: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

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


class ValidationProblem(BaseModel):
    """One of FastAPI's validation problems (a query or path value, a body that is not JSON)."""

    loc: list[str | int]
    msg: str
    type: str


class ProductRejection(BaseModel):
    """A single product the import refused: the job that recorded it, and each field's problem."""

    message: str
    errors: list[JobError]
    job_id: str


class ProductImportProblem(BaseModel):
    """A 422 of `POST /api/import/product`: the product's problems, a sentence, or FastAPI's list."""

    detail: ProductRejection | str | list[ValidationProblem]


class CallbackAttemptRead(BaseModel):
    attempt: int
    at: datetime
    outcome: str  # delivered, retry (tried again later), failed
    status_code: int | None  # the receiver's answer; None when there was none
    error: str | None
    duration_ms: int | None


class CallbackRead(BaseModel):
    """The job-end callback: where (the URL without its query, which may hold a secret such as an
    n8n resume URL's signature), its status (pending, delivered, failed) and every attempt."""

    url: str
    status: str | None
    attempts: list[CallbackAttemptRead] = Field(default_factory=list)


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
    # Only for a job with `options.callback_url`: the call made when it ended, attempt by attempt.
    callback: CallbackRead | None = None
    progress: float
    # The failed items' errors, the first ones by position (`failed_products` says how many failed).
    errors: list[JobError]
    error: str | None
    options: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class SpreadsheetRead(BaseModel):
    """How an uploaded spreadsheet was read (`POST /api/import/file`); the job keeps it too, as
    `options.file`."""

    name: str | None
    format: str  # csv or xlsx
    encoding: str | None  # a CSV's: utf-8 or cp1250 (Windows-1250)
    delimiter: str | None  # a CSV's
    sheet: str | None  # an XLSX's first sheet
    header_row: int
    # The product rows read (the job's total_products): each a product, failed or not.
    rows: int
    # Our field (or "attributes.<name>") → the file's header it was read from.
    columns: dict[str, str]
    # Headers no field was read from (map them with `mapping`, e.g. {"attributes.Kolor": "Kolor"}).
    ignored_columns: list[str]


class FileImportAccepted(ImportAccepted):
    """The webhook's answer, and how the file was read."""

    file: SpreadsheetRead


class JobSummary(BaseModel):
    """A job in `GET /api/import/jobs`; `status_url` gives the rest (stages, errors...)."""

    id: uuid.UUID
    status: str
    source: str
    total_products: int
    processed_products: int
    failed_products: int
    created_at: datetime
    completed_at: datetime | None
    status_url: str


class JobPage(BaseModel):
    items: list[JobSummary]
    total: int
    page: int
    page_size: int
    total_pages: int
    # The next page's URL (absolute path, the same query parameters), or None on the last page.
    next: str | None = None

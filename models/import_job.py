"""An import job and its items: one item per product received, carrying that product's stage and fate.

Job progress is derived from the items, never from counters a retried message could bump twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, updated_at_column


class JobStatus:
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"

    FINISHED = frozenset({COMPLETED, COMPLETED_WITH_ERRORS, FAILED})


class ItemStatus:
    PENDING = "pending"  # waiting for (or inside) its current stage
    DONE = "done"  # passed its last stage
    FAILED = "failed"  # failed at its current stage, with errors


class ItemOutcome:
    """What the import did with the product (the job reports these counts)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"  # the same source_id came again later in the batch; that one counts


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        Index("ix_import_jobs_status_dispatched_at", "status", "dispatched_at"),
        Index("ix_import_jobs_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    source: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(32), server_default=JobStatus.PENDING)
    options: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    total_products: Mapped[int] = mapped_column(Integer, server_default="0")
    # Filled when the job finishes (from its items) so that listings need no aggregate.
    processed_products: Mapped[int] = mapped_column(Integer, server_default="0")
    failed_products: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # When the job's first message was last sent: the sweeper re-sends jobs left pending too long.
    dispatched_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # The job-end callback (options.callback_url): pending, delivered or failed (models.callback).
    callback_status: Mapped[str | None] = mapped_column(String(16))


class JobItem(Base):
    """One product of one job, written by the import stage: its stage, status and errors."""

    __tablename__ = "job_items"
    __table_args__ = ({"postgresql_with": {"fillfactor": 85}},)

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str | None] = mapped_column(String(255))
    product_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    stage: Mapped[str] = mapped_column(String(16), server_default="import")
    status: Mapped[str] = mapped_column(String(16), server_default=ItemStatus.PENDING)
    outcome: Mapped[str | None] = mapped_column(String(16))
    # [{"field": ..., "error": ...}] when the item failed.
    errors: Mapped[list[Any] | None]
    # ok / warning / blocked, once scored: the job's analysis counts these.
    evaluation: Mapped[str | None] = mapped_column(String(16))
    # Groq tokens this job spent on the item's copy (0 when cached or not optimized): the job sums them.
    ai_prompt_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    ai_completion_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    ai_requests: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    updated_at: Mapped[datetime] = updated_at_column()


class ChunkStatus:
    PENDING = "pending"
    DONE = "done"


class JobBody(Base):
    """The products of a webhook's batch as the request stored them, until the job begins.

    One row, written once: the request does no per-product work (no chunking, no duplicate search);
    it serializes the products once and compresses them with lz4 (see migration 0010). The worker's
    `import_job` splits it into job_chunks and deletes it, in the transaction that marks the job
    running (services.imports.intake.split_body).
    """

    __tablename__ = "job_bodies"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    # The request's IMPORT_CHUNK_SIZE: the worker splits by it, so a job's chunks are as the API said.
    chunk_size: Mapped[int] = mapped_column(Integer)
    # The JSON array of the products as received (serialized once, by the request), lz4-compressed.
    body: Mapped[bytes] = mapped_column(LargeBinary)


class JobChunk(Base):
    """The products of a job as received, a chunk (a few hundred) per row, until imported.

    Written by the worker from a webhook's stored body (JobBody) when the job begins, or by the
    request itself for a spreadsheet (as its rows are read); not one row per product: two compressed
    rows for 1,000 products cost half the time of 1,000 item rows, and a tenth of the disk. The
    import stage reads one chunk, and writes that chunk's job_items.
    """

    __tablename__ = "job_chunks"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_position: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default=ChunkStatus.PENDING)
    # The JSON array of the chunk's products, exactly as received (text: already parsed once).
    products: Mapped[str] = mapped_column(Text)
    # Positions whose source_id comes again later in the batch: the later one is imported.
    duplicates: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    updated_at: Mapped[datetime] = updated_at_column()

"""Import jobs: starting them, deriving their progress from their items, finishing them, finding lost ones.

A job's counts are always derived from its items' states (one GROUP BY), never kept as counters
that a redelivered message could bump twice.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import CallbackAttempt, ChunkStatus, ImportJob, ItemStatus, JobChunk, JobItem, JobStatus, stages
from schemas.imports import (
    AiUsage,
    CallbackAttemptRead,
    CallbackRead,
    JobError,
    JobRead,
    JobSummary,
    MarketplacePublishing,
    MarketplaceReadiness,
    StageCounts,
)
from services.imports import intake
from services.marketplaces import DEFAULT_MARKETPLACES


class JobNotFound(LookupError):
    pass


@dataclass
class ItemCounts:
    by_status: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    stages: dict[str, StageCounts] = field(default_factory=dict)
    # ok / warning / blocked of the scored items: the seed's analysis counts
    evaluations: Counter[str] = field(default_factory=Counter)
    # Groq tokens and requests the job spent on its copy
    ai_prompt_tokens: int = 0
    ai_completion_tokens: int = 0
    ai_requests: int = 0

    @property
    def pending(self) -> int:
        return self.by_status[ItemStatus.PENDING]

    @property
    def done(self) -> int:
        return self.by_status[ItemStatus.DONE]

    @property
    def failed(self) -> int:
        return self.by_status[ItemStatus.FAILED]


def count_items(session: Session, job_id: uuid.UUID, total: int, *, publish: bool = False) -> ItemCounts:
    """Counts by stage and status (the publish stage too when the job publishes); products whose chunk
    is not imported yet count as pending."""
    counted = stages.stages_of(publish=publish)
    rows = session.execute(
        select(
            JobItem.stage,
            JobItem.status,
            JobItem.outcome,
            JobItem.evaluation,
            func.count(),
            func.sum(JobItem.ai_prompt_tokens),
            func.sum(JobItem.ai_completion_tokens),
            func.sum(JobItem.ai_requests),
        )
        .where(JobItem.job_id == job_id)
        .group_by(JobItem.stage, JobItem.status, JobItem.outcome, JobItem.evaluation)
    ).all()
    counts = ItemCounts(stages={stage: StageCounts() for stage in counted})
    seen = 0
    for stage, status, outcome, evaluation, n, prompt_tokens, completion_tokens, requests in rows:
        seen += n
        counts.ai_prompt_tokens += prompt_tokens or 0
        counts.ai_completion_tokens += completion_tokens or 0
        counts.ai_requests += requests or 0
        counts.by_status[status] += n
        if outcome:
            counts.outcomes[outcome] += n
        if evaluation:
            counts.evaluations[evaluation] += n
        # An item has passed every stage before its current one, and its current one if done.
        for earlier in counted:
            if stages.INDEX[earlier] < stages.INDEX[stage] or (
                earlier == stage and status == ItemStatus.DONE
            ):
                counts.stages[earlier].done += n
            elif earlier == stage and status == ItemStatus.FAILED:
                counts.stages[earlier].failed += n
    counts.by_status[ItemStatus.PENDING] += max(total - seen, 0)
    return counts


def _current_counts(session: Session, job_id: uuid.UUID) -> ItemCounts:
    total = session.execute(select(ImportJob.total_products).where(ImportJob.id == job_id)).scalar_one()
    return count_items(session, job_id, total)


def begin_job(session: Session, job_id: uuid.UUID) -> list[int]:
    """Mark the job running, split the products its webhook stored into chunks, and return the
    numbers of its chunks still to import.

    The job row is locked, so two deliveries of the same message run one after the other: the
    second finds the body split already (in the first's transaction, with the job marked running,
    so a crash before the commit leaves it whole); the chunks they both send are imported once (see
    product_import.import_chunk).
    """
    job = session.execute(
        select(ImportJob).where(ImportJob.id == job_id).with_for_update()
    ).scalar_one_or_none()
    if job is None:
        raise JobNotFound(str(job_id))
    if job.status in JobStatus.FINISHED:
        return []
    if job.status == JobStatus.PENDING:
        job.status = JobStatus.RUNNING
        job.started_at = func.now()
    job.dispatched_at = func.now()
    intake.split_body(session, job_id)
    return list(
        session.scalars(
            select(JobChunk.number)
            .where(JobChunk.job_id == job_id, JobChunk.status == ChunkStatus.PENDING)
            .order_by(JobChunk.number)
        )
    )


def waiting_stage_chunks(session: Session, job_id: uuid.UUID) -> list[tuple[str, int]]:
    """(stage, chunk number) of each imported chunk whose items wait at a later stage: what to
    send again when a job's messages were lost."""
    rows = session.execute(
        text(
            "SELECT DISTINCT i.stage, c.number FROM job_chunks c JOIN job_items i ON i.job_id = c.job_id"
            " AND i.position >= c.first_position AND i.position < c.first_position + c.size"
            " WHERE c.job_id = :job_id AND c.status = :done AND i.status = :pending AND i.stage <> :import"
            " ORDER BY c.number"
        ),
        {"job_id": job_id, "done": ChunkStatus.DONE, "pending": ItemStatus.PENDING, "import": stages.IMPORT},
    ).all()
    return [(stage, number) for stage, number in rows]


def waiting_after(session: Session, job_id: uuid.UUID, number: int, stage: str) -> list[str]:
    """The later stages at which items of chunk `number` wait, in pipeline order. A stage message
    that finds nothing to do calls this: the delivery that moved the items may have died between its
    commit and sending the next stage's message, which is then sent again (a duplicate is harmless)."""
    rows = session.execute(
        text(
            "SELECT DISTINCT i.stage FROM job_items i"
            " JOIN job_chunks c ON c.job_id = i.job_id AND c.number = :number"
            " WHERE i.job_id = :job_id AND i.status = :pending"
            " AND i.position >= c.first_position AND i.position < c.first_position + c.size"
        ),
        {"job_id": job_id, "number": number, "pending": ItemStatus.PENDING},
    ).scalars()
    later = [s for s in rows if stages.INDEX[s] > stages.INDEX[stage]]
    return sorted(later, key=stages.INDEX.__getitem__)


@dataclass(frozen=True, slots=True)
class JobPlan:
    """What a job asked of the stages (its `options`, with the defaults filled in)."""

    marketplaces: tuple[str, ...]
    pricing_profile: str | None
    optimize: bool | None = None  # None: optimize when a Groq key is configured
    started_at: datetime | None = None
    publish: bool | str = False  # True, False or "preview"

    @property
    def publishes(self) -> bool:
        """Whether the job's items go on to the publish stage (to publish or to preview)."""
        return self.publish is True or self.publish == "preview"


def job_plan(session: Session, job_id: uuid.UUID) -> JobPlan:
    row = session.execute(
        select(ImportJob.options, ImportJob.started_at).where(ImportJob.id == job_id)
    ).one_or_none()
    if row is None:
        raise JobNotFound(str(job_id))
    options, started_at = row
    return JobPlan(
        marketplaces=tuple(options.get("marketplaces") or DEFAULT_MARKETPLACES),
        pricing_profile=options.get("pricing_profile"),
        optimize=options.get("optimize"),
        started_at=started_at,
        publish=options.get("publish") or False,
    )


def finish_if_done(session: Session, job_id: uuid.UUID) -> str | None:
    """Close the job if nothing is pending; returns the final status, or None if still running.

    Called after each chunk commits: the last chunk to commit sees every other chunk's work.
    """
    counts = _current_counts(session, job_id)
    if counts.pending:
        return None
    status = JobStatus.COMPLETED_WITH_ERRORS if counts.failed else JobStatus.COMPLETED
    closed = session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status.in_([JobStatus.PENDING, JobStatus.RUNNING]))
        .values(
            status=status,
            processed_products=counts.done,
            failed_products=counts.failed,
            completed_at=func.now(),
        )
        .returning(ImportJob.id)
    ).scalar_one_or_none()
    if closed:
        _close_bulk_job(session, job_id, status, counts)
    return status if closed else None


def _close_bulk_job(session: Session, job_id: uuid.UUID, status: str, counts: ItemCounts) -> None:
    """A publish job over stored products is the seed's bulk_jobs row too (same id): its counts and
    first errors, when it ends (no row: nothing to do)."""
    session.execute(
        text(
            "UPDATE bulk_jobs b SET status = :status, processed_items = :done, failed_items = :failed,"
            " completed_at = now(), updated_at = now(), errors = coalesce((SELECT jsonb_agg(e) FROM"
            " (SELECT jsonb_build_object('product_id', i.product_id, 'position', i.position) || x AS e"
            " FROM job_items i CROSS JOIN LATERAL jsonb_array_elements(i.errors) x"
            " WHERE i.job_id = :job_id AND i.status = 'failed' ORDER BY i.position LIMIT 100) f), '[]')"
            " WHERE b.id = :job_id"
        ),
        {"status": status, "done": counts.done, "failed": counts.failed, "job_id": job_id},
    )


def fail_job(session: Session, job_id: uuid.UUID, reason: str) -> None:
    """The job as a whole could not run: it ends `failed`, with the reason."""
    counts = _current_counts(session, job_id)
    session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status.in_([JobStatus.PENDING, JobStatus.RUNNING]))
        .values(
            status=JobStatus.FAILED,
            error=reason,
            processed_products=counts.done,
            failed_products=counts.failed,
            completed_at=func.now(),
        )
    )


def fail_chunk(session: Session, job_id: uuid.UUID, number: int, *, reason: str) -> int:
    """A chunk whose import gave up (retries exhausted): each of its products fails with the reason,
    so the job can end instead of running for ever."""
    chunk = session.execute(
        select(JobChunk.first_position, JobChunk.size)
        .where(JobChunk.job_id == job_id, JobChunk.number == number, JobChunk.status == ChunkStatus.PENDING)
        .with_for_update()
    ).one_or_none()
    if chunk is None:
        return 0
    errors = [{"field": "product", "error": reason}]
    session.execute(
        insert(JobItem).on_conflict_do_nothing(),
        [
            {"job_id": job_id, "position": position, "stage": stages.IMPORT, "status": ItemStatus.FAILED,
             "errors": errors}
            for position in range(chunk.first_position, chunk.first_position + chunk.size)
        ],
    )  # fmt: skip
    session.execute(
        update(JobChunk)
        .where(JobChunk.job_id == job_id, JobChunk.number == number)
        .values(status=ChunkStatus.DONE, updated_at=func.now())
    )
    return int(chunk.size)


def claim_lost_jobs(
    session: Session, *, pending_after_seconds: float, stalled_after_seconds: float, limit: int = 100
) -> list[uuid.UUID]:
    """Jobs whose message was probably lost: pending too long since they were last sent, or
    running with items that have not moved for too long. Marks them sent now (so another sweeper
    skips them) and returns their ids for the caller to send again after commit."""
    rows = session.execute(
        text(
            """
            UPDATE import_jobs SET dispatched_at = now()
            WHERE id IN (
                SELECT j.id FROM import_jobs j
                WHERE (j.status = 'pending'
                       AND j.dispatched_at < now() - make_interval(secs => :pending_after))
                   OR (j.status = 'running'
                       AND j.dispatched_at < now() - make_interval(secs => :stalled_after)
                       AND NOT EXISTS (
                           SELECT 1 FROM job_chunks c WHERE c.job_id = j.id
                           AND c.updated_at > now() - make_interval(secs => :stalled_after))
                       AND NOT EXISTS (
                           SELECT 1 FROM job_items i WHERE i.job_id = j.id
                           AND i.updated_at > now() - make_interval(secs => :stalled_after)))
                ORDER BY j.dispatched_at
                LIMIT :limit
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id
            """
        ),
        {"pending_after": pending_after_seconds, "stalled_after": stalled_after_seconds, "limit": limit},
    )
    return list(rows.scalars())


def job_view(session: Session, job_id: uuid.UUID, *, errors_limit: int = 100) -> JobRead:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise JobNotFound(str(job_id))
    publishes = bool(job.options.get("publish"))
    counts = count_items(session, job_id, job.total_products, publish=publishes)
    # Failed items, and the warnings of items that went on ("warning: ...", with their stage).
    failed_items = session.execute(
        select(JobItem.position, JobItem.source_id, JobItem.stage, JobItem.errors)
        .where(
            JobItem.job_id == job_id,
            or_(JobItem.status == ItemStatus.FAILED, JobItem.errors.is_not(None)),
        )
        .order_by(JobItem.position)
        .limit(errors_limit)
    ).all()
    errors = [
        JobError(
            source_id=item.source_id,
            position=item.position,
            stage=e.get("stage", item.stage),
            field=e["field"],
            error=e["error"],
        )
        for item in failed_items
        for e in item.errors or [{"field": "product", "error": "failed"}]
    ][:errors_limit]
    finished = counts.done + counts.failed
    return JobRead(
        id=job.id,
        status=job.status,
        source=job.source,
        total_products=job.total_products,
        processed_products=counts.done,
        failed_products=counts.failed,
        stages=counts.stages,
        outcomes=dict(counts.outcomes),
        analysis={status: counts.evaluations[status] for status in ("ok", "warning", "blocked")},
        ai=AiUsage(
            prompt_tokens=counts.ai_prompt_tokens,
            completion_tokens=counts.ai_completion_tokens,
            total_tokens=counts.ai_prompt_tokens + counts.ai_completion_tokens,
            requests=counts.ai_requests,
            copy_status=_copy_statuses(session, job_id, job.options),
        ),
        # Counted once the job has ended: a client polls a running job every second or so, and these
        # counts join the job's listings (a third of a core at 20 polls a second on 1,000 products).
        readiness=_readiness(session, job_id, job.options) if job.status in JobStatus.FINISHED else {},
        publishing=_publishing(session, job_id, job.options) if publishes else {},
        callback=_callback(session, job),
        progress=round(finished / job.total_products, 4) if job.total_products else 1.0,
        errors=errors,
        error=job.error,
        options=shown_options(job.options),
        created_at=job.created_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
    )


# The job's done products' listings on its marketplaces: what the readiness counts read.
_JOB_LISTINGS = (
    " FROM job_items i JOIN product_listings l ON l.product_id = i.product_id"
    " AND l.marketplace = ANY(:marketplaces)"
)
_JOB_DONE = " WHERE i.job_id = :job_id AND i.status = :done"
_PUBLISHABLE_COUNTS = text(
    "SELECT l.marketplace, l.publishable, count(*)"
    + _JOB_LISTINGS
    + _JOB_DONE
    + " AND l.publishable IS NOT NULL GROUP BY 1, 2"
)
_BLOCKER_COUNTS = text(
    "SELECT l.marketplace, b.value->>'code', count(*)"
    + _JOB_LISTINGS
    + " CROSS JOIN LATERAL jsonb_array_elements(l.blockers) b"
    + _JOB_DONE
    + " GROUP BY 1, 2 ORDER BY 1, 2"
)


def _readiness(
    session: Session, job_id: uuid.UUID, options: dict[str, Any]
) -> dict[str, MarketplaceReadiness]:
    """Per marketplace of the job, its done products' listings: publishable or not, and by blocker."""
    marketplaces = list(options.get("marketplaces") or DEFAULT_MARKETPLACES)
    params = {"job_id": job_id, "marketplaces": marketplaces, "done": ItemStatus.DONE}
    views = {marketplace: MarketplaceReadiness() for marketplace in marketplaces}
    for marketplace, publishable, n in session.execute(_PUBLISHABLE_COUNTS, params):
        if publishable:
            views[marketplace].publishable = n
        else:
            views[marketplace].not_publishable = n
    for marketplace, code, n in session.execute(_BLOCKER_COUNTS, params):
        views[marketplace].blockers[code] = n
    return views


def _publishing(
    session: Session, job_id: uuid.UUID, options: dict[str, Any]
) -> dict[str, MarketplacePublishing]:
    """Per marketplace of a publishing job, its listings by what the publish stage did (sync logs)."""
    views = {m: MarketplacePublishing() for m in options.get("marketplaces") or DEFAULT_MARKETPLACES}
    rows = session.execute(
        text("SELECT marketplace, status, count(*) FROM sync_logs WHERE job_id = :job_id GROUP BY 1, 2"),
        {"job_id": job_id},
    )
    for marketplace, status, n in rows:
        view = views.setdefault(marketplace, MarketplacePublishing())
        if status in MarketplacePublishing.model_fields:
            setattr(view, status, getattr(view, status) + n)
    return views


def shown_options(options: dict[str, Any]) -> dict[str, Any]:
    """The job's options as the API shows them: without the callback headers' values (n8n's Header
    Auth) nor the callback URL's query (a resume URL's signature): both are secrets."""
    if "callback_url" not in options and "callback_headers" not in options:
        return options
    shown = dict(options)
    if url := shown.get("callback_url"):
        shown["callback_url"] = without_query(url)
    if headers := shown.get("callback_headers"):
        shown["callback_headers"] = dict.fromkeys(headers, "***")
    return shown


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


def _callback(session: Session, job: ImportJob) -> CallbackRead | None:
    url = job.options.get("callback_url")
    if not url:
        return None
    rows = session.scalars(
        select(CallbackAttempt).where(CallbackAttempt.job_id == job.id).order_by(CallbackAttempt.attempt)
    )
    attempts = [
        CallbackAttemptRead(
            attempt=row.attempt, at=row.created_at, outcome=row.outcome, status_code=row.status_code,
            error=row.error, duration_ms=row.duration_ms,
        )
        for row in rows
    ]  # fmt: skip
    return CallbackRead(url=without_query(url), status=job.callback_status, attempts=attempts)


def _copy_statuses(session: Session, job_id: uuid.UUID, options: dict[str, Any]) -> dict[str, int]:
    """How the copy of the job's products' listings (on the job's marketplaces) was written now."""
    rows = session.execute(
        text(
            "SELECT l.ai_status, count(*) FROM job_items i"
            " JOIN product_listings l ON l.product_id = i.product_id AND l.marketplace = ANY(:marketplaces)"
            " WHERE i.job_id = :job_id AND l.ai_status IS NOT NULL GROUP BY l.ai_status"
        ),
        {"job_id": job_id, "marketplaces": list(options.get("marketplaces") or DEFAULT_MARKETPLACES)},
    ).all()
    return {status: n for status, n in rows}


def status_path(job_id: uuid.UUID | str) -> str:
    """Where a job's status is read (`GET`), as the API, callbacks and bulk jobs name it."""
    return f"/api/import/job/{job_id}"


def list_jobs(
    session: Session,
    *,
    status: str | None = None,
    source: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[JobSummary], int]:
    """Import jobs, newest first: one page of them, and how many match. An ended job's counts are its
    row's (filled when it ended); a job still pending or running counts its items now, as job_view
    does (one GROUP BY over the page's running jobs)."""
    conditions = []
    if status is not None:
        conditions.append(ImportJob.status == status)
    if source is not None:
        conditions.append(ImportJob.source == source.strip().lower())
    total = session.scalar(select(func.count()).select_from(ImportJob).where(*conditions)) or 0
    rows = session.execute(
        select(
            ImportJob.id, ImportJob.status, ImportJob.source, ImportJob.total_products,
            ImportJob.processed_products, ImportJob.failed_products, ImportJob.created_at,
            ImportJob.completed_at,
        )
        .where(*conditions)
        .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()  # fmt: skip
    running = [row.id for row in rows if row.status not in JobStatus.FINISHED]
    live: dict[uuid.UUID, Counter[str]] = {job_id: Counter() for job_id in running}
    if running:
        counted = session.execute(
            select(JobItem.job_id, JobItem.status, func.count())
            .where(JobItem.job_id.in_(running))
            .group_by(JobItem.job_id, JobItem.status)
        )
        for job_id, item_status, n in counted:
            live[job_id][item_status] += n
    listings = []
    for row in rows:
        counts = live.get(row.id)
        listings.append(
            JobSummary(
                id=row.id,
                status=row.status,
                source=row.source,
                total_products=row.total_products,
                processed_products=counts[ItemStatus.DONE] if counts is not None else row.processed_products,
                failed_products=counts[ItemStatus.FAILED] if counts is not None else row.failed_products,
                created_at=row.created_at,
                completed_at=row.completed_at,
                status_url=status_path(row.id),
            )
        )
    return listings, total

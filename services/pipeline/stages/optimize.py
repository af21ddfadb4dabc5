"""The optimize stage (normalize's AI step): the model's listing copy for a chunk, a slice at a time.

A model call takes seconds and a job's limits allow a few per minute, so no transaction stays open
while the model writes, and no message runs for long. One message does one slice:

1. `plan_slice` (a short read): the chunk's items waiting at optimize, in order, until the slice
   holds `max_products` products whose copy is to be written. For each product and marketplace:
   *unchanged* when the listing's `ai_key` (normalized content, marketplace, language, prompt
   version, model) is the one it would get and its copy is the model's (a listing whose answer was
   refused goes by the cache, so that an old refusal is asked again), else the cache
   (`ai_copy_cache`, by the hash of the DATA the model would be sent) or, failing that, a *request*
   to the model. A cached refusal (ai_status "fallback") serves for `CopySettings.refusal_cache_hours`
   (AI_REFUSAL_CACHE_HOURS; 0: never) after it was written; older, it is no hit, the model is asked
   again and its new answer takes the row's place. Cached copy that passed serves for good.
2. `write_copies` (no database): the requests, in batches of `batch_size` products of one
   marketplace, a few at a time. Once one fails for want of the model (rate limited past the wait
   allowed, timeouts, 5xx), the requests not started yet fall back at once with the same reason:
   a slice stays short when Groq is down, and a later slice tries again.
3. `store_slice` (a short write): claims the slice's items (still waiting: a second delivery of the
   message finds them gone), writes each listing's copy and what it cost, caches the answers, adds
   the tokens this job spent to the job items, and moves the items on to price.

The caller sends the price stage for the chunk, and this stage again while items wait (`more`).
When the account's rate limits would keep a request waiting past `groq_max_wait_seconds`, the
caller may defer instead of falling back (`deferral`, `store_slice(defer=True)`): those products
stay waiting at optimize and the stage comes back after the wait, for as long as the job's
`ai_max_defer_seconds` allow; after that they fall back like any other.
A product whose copy falls back (checks failed after a repair, model unavailable) is not a failed
item: it goes on with the deterministic copy, and its listing says why. Only a product that cannot
be read (deleted, or normalize failing on it) fails.

Two deliveries of one message running at the same time both ask the model (Dramatiq delivers at
least once); the rows they leave are the same, and the job counts one's tokens.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Container, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.orm import Session

from models import stages
from services.ai import CopyResult, Copywriter, SourceProduct
from services.ai.batch import CopyRequest, write_batch
from services.ai.prompts import data_message
from services.marketplaces import BUILT_IN_LANGUAGES, Languages, rules_for
from services.normalize import normalize_product
from services.normalize.extract import KNOWN_BRANDS
from services.pipeline.bulk import copy_rows
from services.pipeline.items import (
    ChunkWork,
    ItemError,
    StageItem,
    StageResult,
    claim_items,
    product_ids,
    read_listings,
    read_products,
)
from services.pipeline.keys import copy_key, source_hash
from services.pipeline.stages.normalize import product_in
from services.platform.db import psycopg_connection

log = structlog.get_logger(__name__)

OPTIMIZED, FALLBACK = "optimized", "fallback"
UNAVAILABLE = "AI unavailable: "  # the copywriter's reason when no answer came
NO_KEY = "no GROQ_API_KEY is configured"
PARALLEL_REQUESTS = 4  # requests of one slice in flight at once (the shared limiter paces them all)

_PRODUCT_COLUMNS = (
    "source_id, title, description, brand, category, ean, images, attributes, normalize_key,"
    " normalized IS NOT NULL AS is_normalized"
)
_LISTINGS_TABLE = "stage_optimized_listings"
_LISTINGS_COLUMNS = (
    ("product_id", "bigint"), ("marketplace", "text"), ("title", "text"), ("description_html", "text"),
    ("ai_status", "text"), ("ai_reason", "text"), ("ai_grounding", "double precision"),
    ("ai_model", "text"), ("ai_prompt_version", "text"), ("ai_prompt_tokens", "integer"),
    ("ai_completion_tokens", "integer"), ("ai_key", "text"),
)  # fmt: skip
_CACHE_TABLE = "stage_ai_copy_cache"
_CACHE_COLUMNS = (
    ("source_hash", "text"), ("marketplace", "text"), ("prompt_version", "text"), ("model", "text"),
    ("ai_status", "text"), ("title", "text"), ("description_html", "text"), ("reason", "text"),
    ("grounding", "double precision"), ("prompt_tokens", "integer"), ("completion_tokens", "integer"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CopySettings:
    """What the copy depends on besides the product and the marketplace's language."""

    model: str
    prompt_version: str
    # MARKETPLACE_LANGUAGES: part of every copy's key.
    languages: Languages = field(default_factory=lambda: BUILT_IN_LANGUAGES)
    # AI_REFUSAL_CACHE_HOURS: how long a refused answer is reused from the cache (0: never).
    refusal_cache_hours: float = 24.0
    # The brands a title may name (EXTRA_BRANDS with the built-in ones), as the normalize stage used
    # them: the model's DATA names the brand normalize found. Part of the normalized content's key.
    brands: Mapping[str, str] = field(default_factory=lambda: KNOWN_BRANDS)


@dataclass(frozen=True, slots=True)
class CopyTask:
    """One product on one marketplace whose copy is not the listing's yet."""

    position: int
    product_id: int
    marketplace: str
    key: str  # the listing's ai_key once written
    source_hash: str
    request: CopyRequest


@dataclass(frozen=True, slots=True)
class CachedCopy:
    ai_status: str
    title: str | None
    description_html: str | None
    reason: str | None
    grounding: float | None
    prompt_tokens: int
    completion_tokens: int


@dataclass
class CopySlice:
    copy: CopySettings
    marketplaces: tuple[str, ...]
    items: list[StageItem] = field(default_factory=list)
    failed: dict[int, list[ItemError]] = field(default_factory=dict)  # by position
    cached: list[tuple[CopyTask, CachedCopy]] = field(default_factory=list)
    requests: list[CopyTask] = field(default_factory=list)
    unchanged: int = 0
    more: bool = False  # items wait after this slice


def copy_mode_reason(optimize_option: bool | None, ai_configured: bool) -> str | None:
    """Why a job keeps the deterministic copy; None when it optimizes (`optimize` defaults to true
    when a key is configured)."""
    if optimize_option is False:
        return "the job asked for optimize: false"
    if not ai_configured:
        return NO_KEY
    return None


def plan_slice(
    session: Session,
    job_id: uuid.UUID,
    number: int,
    *,
    marketplaces: Sequence[str],
    copy: CopySettings,
    max_products: int,
) -> CopySlice:
    """The next slice of the chunk's items waiting at optimize (module docstring, step 1): up to
    `max_products` products that need the model (a multiple of the batch size fills every batch)."""
    items = claim_items(session, job_id, number, stages.OPTIMIZE, lock=False)
    ids = product_ids(items)
    products = read_sources(session, ids)
    listings = read_listings(session, "ai_key, ai_status", ids, marketplaces)
    plan = CopySlice(copy, tuple(marketplaces))
    tasks: list[CopyTask] = []
    asking = 0  # products with copy to write
    for item in items:
        if asking >= max_products:
            plan.more = True
            break
        plan.items.append(item)
        product = products.get(item.product_id) if item.product_id is not None else None
        if product is None or not product.is_normalized:
            why = "deleted" if product is None else "not normalized"
            plan.failed[item.position] = [
                ItemError("product", f"the product was {why} before its optimize stage")
            ]
            continue
        keys = copy_keys(product, marketplaces, copy)
        stale = [m for m in marketplaces if not _current(listings.get((product.id, m)), keys[m])]
        plan.unchanged += len(marketplaces) - len(stale)
        if not stale:
            continue
        asking += 1
        try:
            tasks.extend(copy_tasks(item.position, product, stale, copy))
        except Exception as error:  # one product's bug must not fail its slice
            log.exception("optimize.product_failed", product_id=product.id)
            plan.failed[item.position] = [ItemError("product", f"optimize failed ({type(error).__name__})")]
    cache = read_cache(session, tasks, copy)
    for task in tasks:
        if (hit := cache.get((task.source_hash, task.marketplace))) is not None:
            plan.cached.append((task, hit))
        else:
            plan.requests.append(task)
    return plan


def write_copies(
    plan: CopySlice, copywriter: Copywriter | None, *, batch_size: int, unavailable_reason: str | None = None
) -> list[tuple[CopyTask, CopyResult]]:
    """The model's copy (or the fallback) for each request of the slice (module docstring, step 2).
    No copywriter: every request falls back with `unavailable_reason`."""
    if not plan.requests:
        return []
    if copywriter is None:
        reason = UNAVAILABLE + (unavailable_reason or "no copywriter")
        return [(task, not_asked(task, reason, "", "")) for task in plan.requests]
    batches = _batches(plan.requests, batch_size)
    stop = threading.Event()
    stopped_by: list[CopyResult] = []

    def run(batch: list[CopyTask]) -> list[tuple[CopyTask, CopyResult]]:
        if stop.is_set():
            first = stopped_by[0]
            model, version = copywriter.model_name, copywriter.prompt_version
            return [
                (
                    task,
                    not_asked(task, first.reason or UNAVAILABLE, model, version, first.retry_after_seconds),
                )
                for task in batch
            ]
        results = write_batch(copywriter, [task.request for task in batch], batch[0].marketplace)
        # Each result counts the batch's request; the job counts it once, with the batch's first product.
        results = results[:1] + [replace(r, attempts=max(r.attempts - 1, 0)) for r in results[1:]]
        for result in results:
            if result.reason is not None and result.reason.startswith(UNAVAILABLE):
                stopped_by.append(result)
                stop.set()
        return list(zip(batch, results, strict=True))

    with ThreadPoolExecutor(max_workers=min(PARALLEL_REQUESTS, len(batches))) as pool:
        return [pair for done in pool.map(run, batches) for pair in done]


def store_slice(
    session: Session,
    job_id: uuid.UUID,
    number: int,
    plan: CopySlice,
    written: Sequence[tuple[CopyTask, CopyResult]],
    *,
    defer: bool = False,
) -> StageResult:
    """Write the slice's copy and move its items on (module docstring, step 3). With `defer`, a
    product with copy that fell back for the account's rate limits stays waiting at optimize, its
    listings as they were (the answers it did get are cached: the next try costs no tokens for them,
    and this job counts them now)."""
    deferred: set[int] = set()
    if defer:
        deferred = {task.position for task, result in written if result.retry_after_seconds is not None}
        written = [(task, result) for task, result in written if result.retry_after_seconds is None]
        plan = replace(plan, items=[item for item in plan.items if item.position not in deferred])
    planned = {item.position for item in plan.items}
    claimed = [
        item for item in claim_items(session, job_id, number, stages.OPTIMIZE) if item.position in planned
    ]
    work = ChunkWork(stages.OPTIMIZE, claimed)
    mine = {item.position for item in claimed}
    spent: dict[int, list[int]] = {}  # position → [prompt tokens, completion tokens, requests]
    for task, result in written:
        if task.position in mine or task.position in deferred:
            cost = spent.setdefault(task.position, [0, 0, 0])
            cost[0] += result.prompt_tokens
            cost[1] += result.completion_tokens
            cost[2] += result.attempts
    for item in claimed:
        if item.position in plan.failed:
            work.fails(item, plan.failed[item.position])
        else:
            work.passes(item, skipped=item.position not in spent)
    if deferred:
        log.info("optimize.deferred", positions=sorted(deferred))
    save_copies(session, plan, written, positions=mine)
    if spent:
        with psycopg_connection(session).cursor() as cursor:
            _add_costs(cursor, job_id, spent)
    return work.finish(session, job_id)


def save_copies(
    session: Session,
    plan: CopySlice,
    written: Sequence[tuple[CopyTask, CopyResult]],
    *,
    positions: Container[int] | None = None,
) -> None:
    """Cache every answer the model gave (tokens were spent on it, whoever moves the items); write the
    listings' copy, and each product's own optimized copy (its first marketplace's), for the tasks
    of `positions` (all when None)."""
    cache_rows: list[tuple[Any, ...]] = []
    listing_rows: list[tuple[Any, ...]] = []
    product_copy: dict[int, tuple[int, tuple[Any, ...]]] = {}  # product → (rank of marketplace, row)
    copies: list[tuple[CopyTask, CopyResult | CachedCopy, str, str, bool]] = [
        (task, cached, plan.copy.model, plan.copy.prompt_version, True) for task, cached in plan.cached
    ]
    for task, result in written:
        answered = not (result.reason or "").startswith(UNAVAILABLE)
        copies.append((task, result, result.model, result.prompt_version, answered))
        if answered:
            cache_rows.append(_cache_row(task, result, plan.copy))
    for task, copy, model, version, answered in copies:
        if positions is not None and task.position not in positions:
            continue
        # No answer: no key either, so the next run asks again.
        row = _listing_row(task, copy, model, version, task.key if answered else None)
        listing_rows.append(row)
        rank = plan.marketplaces.index(task.marketplace)
        if copy.ai_status == OPTIMIZED and rank < product_copy.get(task.product_id, (rank + 1,))[0]:
            product_copy[task.product_id] = (rank, (task.product_id, row[2], row[3]))
    with psycopg_connection(session).cursor() as cursor:
        if cache_rows:
            _write_cache(cursor, cache_rows)
        if listing_rows:
            _write_listings(cursor, listing_rows, [row for _, row in product_copy.values()])


def read_sources(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    """The product rows `copy_tasks` needs, by id."""
    return read_products(session, _PRODUCT_COLUMNS, ids)


def copy_keys(product: Any, marketplaces: Sequence[str], copy: CopySettings) -> dict[str, str]:
    """Each marketplace's `ai_key` for the product's current normalized content."""
    return {
        m: copy_key(
            product.normalize_key, m, rules_for(m, copy.languages).language, copy.prompt_version, copy.model
        )
        for m in marketplaces
    }


def copy_tasks(
    position: int, product: Any, marketplaces: Sequence[str], copy: CopySettings
) -> list[CopyTask]:
    """What to ask the model for the product (a `read_sources` row) on each marketplace: the source
    DATA and its hash, and the deterministic copy to fall back to."""
    keys = copy_keys(product, marketplaces, copy)
    normalized = normalize_product(product_in(product), marketplaces, brands=copy.brands)
    source = SourceProduct.from_normalized(normalized, product.title)
    data = data_message(source)
    description = normalized.description.html
    return [
        CopyTask(
            position=position,
            product_id=product.id,
            marketplace=m,
            key=keys[m],
            source_hash=source_hash(data, rules_for(m, copy.languages).language),
            request=CopyRequest(
                id=f"{product.id}:{m}",
                source=source,
                fallback_title=normalized.marketplace_titles[m],
                fallback_description_html=description,
            ),
        )
        for m in marketplaces
    ]


def read_cache(
    session: Session, tasks: Sequence[CopyTask], copy: CopySettings
) -> dict[tuple[str, str], CachedCopy]:
    """The cached answers for the tasks, by (source hash, marketplace): copy that passed, and refusals
    written less than `copy.refusal_cache_hours` ago (module docstring, step 1)."""
    if not tasks:
        return {}
    rows = session.execute(
        text(
            "SELECT c.source_hash, c.marketplace, c.ai_status, c.title, c.description_html, c.reason,"
            " c.grounding, c.prompt_tokens, c.completion_tokens FROM ai_copy_cache c"
            " JOIN unnest(CAST(:hashes AS text[]), CAST(:marketplaces AS text[]))"
            " AS k(source_hash, marketplace) USING (source_hash, marketplace)"
            " WHERE c.prompt_version = :prompt_version AND c.model = :model"
            " AND (c.ai_status <> :fallback"
            " OR c.created_at > now() - make_interval(secs => CAST(:refusal_seconds AS double precision)))"
        ),
        {
            "hashes": [task.source_hash for task in tasks],
            "marketplaces": [task.marketplace for task in tasks],
            "prompt_version": copy.prompt_version,
            "model": copy.model,
            "fallback": FALLBACK,
            "refusal_seconds": copy.refusal_cache_hours * 3600,
        },
    )
    return {
        (row.source_hash, row.marketplace): CachedCopy(
            row.ai_status, row.title, row.description_html, row.reason, row.grounding, row.prompt_tokens,
            row.completion_tokens,
        )
        for row in rows
    }  # fmt: skip


def _current(listing: Any, key: str) -> bool:
    """The listing has the model's copy for its current content (a refused answer's listing is
    never current: the cache says whether its refusal still holds)."""
    return listing is not None and listing.ai_key == key and listing.ai_status == OPTIMIZED


def _batches(tasks: Sequence[CopyTask], size: int) -> list[list[CopyTask]]:
    """Up to `size` tasks of one marketplace per batch: one system prompt serves one marketplace."""
    by_marketplace: dict[str, list[CopyTask]] = {}
    for task in tasks:
        by_marketplace.setdefault(task.marketplace, []).append(task)
    return [group[i : i + size] for group in by_marketplace.values() for i in range(0, len(group), size)]


def not_asked(
    task: CopyTask, reason: str, model: str, prompt_version: str, retry_after: float | None = None
) -> CopyResult:
    """The task's fallback copy when the model was not asked (or gave no answer in time)."""
    request = task.request
    return CopyResult(
        title=request.fallback_title, description_html=request.fallback_description_html,
        ai_status="fallback", reason=reason, grounding=None, attempts=0, prompt_tokens=0,
        completion_tokens=0, model=model, prompt_version=prompt_version, retry_after_seconds=retry_after,
    )  # fmt: skip


def deferral(written: Sequence[tuple[CopyTask, CopyResult]]) -> float | None:
    """How long the account's rate limits asked to wait, when some copy fell back for them (None:
    none did). The caller may defer those products (`store_slice(..., defer=True)`) and come back."""
    waits = [result.retry_after_seconds for _, result in written if result.retry_after_seconds is not None]
    return max(waits) if waits else None


def _listing_row(
    task: CopyTask, copy: CopyResult | CachedCopy, model: str, prompt_version: str, key: str | None
) -> tuple[Any, ...]:
    title, description_html = copy.title, copy.description_html
    if copy.ai_status != OPTIMIZED or title is None:  # a fallback keeps the deterministic copy
        title, description_html = task.request.fallback_title, task.request.fallback_description_html
    return (
        task.product_id, task.marketplace, title, description_html or None, copy.ai_status, copy.reason,
        copy.grounding, model, prompt_version, copy.prompt_tokens, copy.completion_tokens, key,
    )  # fmt: skip


def _cache_row(task: CopyTask, result: CopyResult, copy: CopySettings) -> tuple[Any, ...]:
    """Keyed by what was asked (the model's name in the answer may differ); a refused answer caches
    its reason, not its copy."""
    optimized = result.ai_status == OPTIMIZED
    return (
        task.source_hash, task.marketplace, copy.prompt_version, copy.model, result.ai_status,
        result.title if optimized else None, result.description_html if optimized else None,
        result.reason, result.grounding, result.prompt_tokens, result.completion_tokens,
    )  # fmt: skip


Cursor = Any


def _write_cache(cursor: Cursor, rows: list[tuple[Any, ...]]) -> None:
    """New answers, and new answers in the place of refusals (asked again once their time was up);
    copy that passed is never replaced (two deliveries of a message may both have asked). Twins (the
    same DATA under two products of a slice) write one row, copy that passed first."""
    copy_rows(cursor, _CACHE_TABLE, _CACHE_COLUMNS, rows)
    names = [name for name, _ in _CACHE_COLUMNS]
    key = ", ".join(names[:4])
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names[4:])
    cursor.execute(
        f"INSERT INTO ai_copy_cache ({', '.join(names)}) SELECT DISTINCT ON ({key}) {', '.join(names)}"  # noqa: S608
        f" FROM {_CACHE_TABLE} ORDER BY {key}, ai_status = %s DESC"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}, created_at = now()"
        f" WHERE ai_copy_cache.ai_status = %s",
        (OPTIMIZED, FALLBACK),
    )


def _write_listings(
    cursor: Cursor, rows: list[tuple[Any, ...]], product_copy: list[tuple[int, str, str | None]]
) -> None:
    copy_rows(cursor, _LISTINGS_TABLE, _LISTINGS_COLUMNS, rows)
    names = [name for name, _ in _LISTINGS_COLUMNS]
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names[2:])
    cursor.execute(
        f"INSERT INTO product_listings ({', '.join(names)}) SELECT {', '.join(names)}"  # noqa: S608
        f" FROM {_LISTINGS_TABLE} ORDER BY product_id, marketplace"
        f" ON CONFLICT (product_id, marketplace) DO UPDATE SET {updates}, updated_at = now()"
    )
    if product_copy:
        ids, titles, descriptions = (list(column) for column in zip(*product_copy, strict=True))
        cursor.execute(
            "UPDATE products p SET optimized_title = v.title, optimized_description = v.description,"
            " updated_at = now()"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, title, description)"
            " WHERE p.id = v.id",
            (ids, titles, descriptions),
        )


def _add_costs(cursor: Cursor, job_id: uuid.UUID, spent: Mapping[int, Sequence[int]]) -> None:
    positions = list(spent)
    prompt, completion, requests = ([cost[i] for cost in spent.values()] for i in range(3))
    cursor.execute(
        "UPDATE job_items i SET ai_prompt_tokens = i.ai_prompt_tokens + v.prompt,"
        " ai_completion_tokens = i.ai_completion_tokens + v.completion,"
        " ai_requests = i.ai_requests + v.requests"
        " FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[])"
        " AS v(position, prompt, completion, requests)"
        " WHERE i.job_id = %s AND i.position = v.position",
        (positions, prompt, completion, requests, job_id),
    )

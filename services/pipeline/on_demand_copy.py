"""AI copy on request (pipeline): one product now (the `/api/ai/optimize*` routes), or many as a job to
poll (`/api/ai/batch-optimize`). Here, not in services.ai, because it plans and stores as the optimize
stage does and starts optimize jobs: services.ai (the model, prompts, checks) stays below the pipeline.
The same parts as the optimize stage (services.pipeline.stages.optimize): the listing's current copy,
then the cache (a refused answer only while it is younger than `CopySettings.refusal_cache_hours`),
then the model; the same rows written.

One product: the answer comes within `timeout_seconds`. A model still writing then is left to
finish in the background (its answer is dropped: the request has been answered) and the product gets
the deterministic copy, with the reason.

Many: a job whose items start at the optimize stage (no import: the products are stored already),
then price and score as any job's do, so the listings' quality scores weigh the new copy. Ids that
name no product fail alone, with the reason, in the job's errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Listing, stages
from services.ai import CopyResult, Copywriter
from services.pipeline.stages.optimize import (
    OPTIMIZED,
    UNAVAILABLE,
    CopySettings,
    CopySlice,
    CopyTask,
    copy_tasks,
    not_asked,
    read_cache,
    read_sources,
    save_copies,
    write_copies,
)
from services.pipeline.stored_products import StoredProductsJob, start_job_over_products

SOURCE = "ai"  # the `source` of a batch-optimize job
MAX_PRODUCTS = 10_000  # per batch-optimize request
# Model calls of the single-product routes: a few at a time, off the server's own threads.
_requests = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ai-route")


class ProductNotFound(LookupError):
    pass


class ProductNotNormalized(Exception):
    """Its import has not reached normalize yet: there is no source data to write from."""


@dataclass(frozen=True, slots=True)
class ProductCopy:
    product_id: int
    marketplace: str
    original_title: str
    original_description: str | None
    title: str
    description_html: str
    ai_status: str  # optimized / fallback / deterministic
    reason: str | None
    grounding: float | None
    prompt_tokens: int  # spent by this request (0 when the copy was current or cached)
    completion_tokens: int
    source: str  # model / cache / listing (the listing's copy was current) / deterministic


def optimize_product(
    session: Session,
    product_id: int,
    marketplace: str,
    *,
    copywriter: Copywriter | None,
    copy: CopySettings,
    timeout_seconds: float,
    deterministic_reason: str,
) -> ProductCopy:
    """The product's copy for `marketplace`: the listing's when the model wrote it for the current
    content, else the cache's, else the model's now; stored on the listing. No copywriter: the
    deterministic copy, with `deterministic_reason`, stored nowhere."""
    row = read_sources(session, [product_id]).get(product_id)
    if row is None:
        raise ProductNotFound(product_id)
    if not row.is_normalized:
        raise ProductNotNormalized(product_id)
    (task,) = copy_tasks(0, row, [marketplace], copy)
    fallback = (task.request.fallback_title, task.request.fallback_description_html)

    def answer(
        source: str,
        status: str,
        reason: str | None,
        copy_: tuple[str, str] = fallback,
        *,
        grounding: float | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> ProductCopy:
        return ProductCopy(
            product_id=product_id, marketplace=marketplace, original_title=row.title,
            original_description=row.description, title=copy_[0], description_html=copy_[1],
            ai_status=status, reason=reason, grounding=grounding, prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens, source=source,
        )  # fmt: skip

    if copywriter is None:
        return answer("deterministic", "deterministic", deterministic_reason)
    listing = session.execute(
        select(Listing.title, Listing.description_html, Listing.ai_grounding).where(
            Listing.product_id == product_id,
            Listing.marketplace == marketplace,
            Listing.ai_status == OPTIMIZED,
            Listing.ai_key == task.key,
        )
    ).one_or_none()
    if listing is not None and listing.title:
        current = (listing.title, listing.description_html or "")
        return answer("listing", OPTIMIZED, None, current, grounding=listing.ai_grounding)
    plan = CopySlice(copy, (marketplace,))
    cached = read_cache(session, [task], copy).get((task.source_hash, marketplace))
    if cached is not None:
        plan.cached.append((task, cached))
        save_copies(session, plan, [])
        written_copy = (cached.title, cached.description_html or "") if cached.title else fallback
        return answer("cache", cached.ai_status, cached.reason, written_copy, grounding=cached.grounding)
    plan.requests.append(task)
    result = _write_within(plan, copywriter, task, timeout_seconds)
    save_copies(session, plan, [(task, result)])
    return answer(
        "model", result.ai_status, result.reason, (result.title, result.description_html),
        grounding=result.grounding, prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
    )  # fmt: skip


def _write_within(
    plan: CopySlice, copywriter: Copywriter, task: CopyTask, timeout_seconds: float
) -> CopyResult:
    future = _requests.submit(write_copies, plan, copywriter, batch_size=1)
    try:
        ((_, result),) = future.result(timeout=timeout_seconds)
    except FutureTimeout:
        # Left to finish: a late answer is not stored (this request has answered), only wasted.
        reason = f"{UNAVAILABLE}no answer within {timeout_seconds:g} s"
        return not_asked(task, reason, copywriter.model_name, copywriter.prompt_version)
    return result


def start_optimize_job(session: Session, product_ids: Sequence[int], marketplace: str) -> StoredProductsJob:
    """A job over stored products, starting at optimize (module docstring). Duplicate ids count once."""
    options = {"marketplaces": [marketplace], "optimize": True, "kind": "batch-optimize"}
    return start_job_over_products(
        session, product_ids, stage=stages.OPTIMIZE, source=SOURCE, options=options
    )

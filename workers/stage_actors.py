"""The normalize, optimize, price, score and publish actors: one message per chunk per stage
(optimize: per slice of a chunk), thin glue around services.pipeline.stages.

Each actor works through the chunk's items waiting at its stage in one transaction, with the stages
after it that need nothing from outside (normalize → price → score, or price → score after the
model's copy: services.pipeline.stages.chain), and, after the commit, sends the next message for the
same chunk; the last stage (or a chunk with nothing left to move on) tries to close the job.
Optimize reads, asks the model outside any transaction, then writes (services.pipeline.stages.optimize),
and sends itself again while the chunk has items waiting. Publish does the same (read, send to the
marketplaces, write), for jobs that ask for it. When retries run out, `stage_chunk_gave_up` fails the
chunk's items waiting at that stage, with the reason, so the job can end.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import dramatiq
import structlog
from sqlalchemy.orm import Session

from models import stages
from services.pipeline import attempts, jobs
from services.pipeline.items import StageResult, fail_items
from services.pipeline.stages import chain, optimize, publish
from services.pipeline.stages.normalize import normalize_step
from services.pipeline.stages.price import price_step
from services.pipeline.stages.score import score_step
from services.pricing.rates_store import current_rates
from services.rules import store as rule_store
from workers import messages
from workers import metrics as worker_metrics
from workers.broker import QUEUE, RETRY_OPTIONS, broker
from workers.context import stage_context
from workers.db import session_scope
from workers.finish import finish_job, gave_up_reason, resend_waiting
from workers.messages import send_stage
from workers.outbox import send_after_commit

log = structlog.get_logger(__name__)
Only = Sequence[int] | None  # the positions to work on; None: every item waiting
_ONE_SUSPECT_AT_A_TIME = threading.Lock()
STAGE_GAVE_UP = messages.PREFIX + "stage_chunk_gave_up"
_STAGE_ACTOR_OPTIONS: dict[str, Any] = {
    "queue_name": QUEUE, "broker": broker, "on_retry_exhausted": STAGE_GAVE_UP,
    **RETRY_OPTIONS,
}  # fmt: skip
MIN_DEFER_SECONDS = 5.0  # a deferred slice comes back after the limits' wait, and never sooner


@dramatiq.actor(actor_name=messages.stage_actor_name(stages.NORMALIZE), **_STAGE_ACTOR_OPTIONS)
def normalize_chunk(job_id: str, number: int) -> None:
    _run(stages.NORMALIZE, job_id, number)


# A slice waits for the model: up to groq_max_wait_seconds + a timeout per request, four at a time.
@dramatiq.actor(
    actor_name=messages.stage_actor_name(stages.OPTIMIZE), time_limit=30 * 60 * 1000, **_STAGE_ACTOR_OPTIONS
)
def optimize_chunk(job_id: str, number: int) -> None:
    context = stage_context()
    job = uuid.UUID(job_id)
    with session_scope() as session:
        if (plan := _plan(session, job, stages.OPTIMIZE)) is None:
            return
        todo = optimize.plan_slice(
            session,
            job,
            number,
            marketplaces=plan.marketplaces,
            copy=context.copy,
            max_products=context.slice_products,
        )
    written = optimize.write_copies(
        todo,
        context.copywriter,
        batch_size=context.settings.ai_batch_size,
        unavailable_reason=optimize.NO_KEY,
    )
    wait = optimize.deferral(written)
    defer = wait is not None and _may_defer(plan, context.settings.ai_max_defer_seconds)
    with session_scope() as session:
        result = optimize.store_slice(session, job, number, todo, written, defer=defer)
        if result.moved_on:
            send_stage(session, stages.PRICE, job_id, number)
        if defer:  # the rest of the chunk waits too: the limits are the account's, not the slice's
            delay_ms = int(max(wait or 0, MIN_DEFER_SECONDS) * 1000)
            later = messages.stage_chunk(stages.OPTIMIZE, job_id, number, delay_ms=delay_ms)
            send_after_commit(session, later)
        elif todo.more:
            send_stage(session, stages.OPTIMIZE, job_id, number)
    statuses = Counter(copy.ai_status for _, copy in written)
    log.info(
        "optimize.slice_done",
        chunk=number,
        passed=len(result.product_ids),
        failed=len(result.failed_source_ids),
        unchanged=todo.unchanged,
        cached=len(todo.cached),
        requested=len(written),
        optimized=statuses["optimized"],
        fallback=statuses["fallback"],
        prompt_tokens=sum(copy.prompt_tokens for _, copy in written),
        completion_tokens=sum(copy.completion_tokens for _, copy in written),
        product_ids=result.product_ids,
    )
    worker_metrics.optimize_done(result, written)
    if defer:
        log.info("optimize.deferred_for_rate_limits", chunk=number, retry_in_seconds=wait)
    elif not result.moved_on and not todo.more and not resend_waiting(stages.OPTIMIZE, job_id, number):
        finish_job(job_id)


def _may_defer(plan: jobs.JobPlan, max_defer_seconds: float) -> bool:
    """Whether the job may still wait for the account's rate limits (settings.ai_max_defer_seconds)."""
    if plan.started_at is None:
        return False
    waited = (datetime.now(UTC) - plan.started_at).total_seconds()
    return waited < max_defer_seconds


@dramatiq.actor(actor_name=messages.stage_actor_name(stages.PRICE), **_STAGE_ACTOR_OPTIONS)
def price_chunk(job_id: str, number: int) -> None:
    _run(stages.PRICE, job_id, number)


# Reached only by a chunk left waiting at score (a run from price or normalize moves it past).
@dramatiq.actor(actor_name=messages.stage_actor_name(stages.SCORE), **_STAGE_ACTOR_OPTIONS)
def score_chunk(job_id: str, number: int) -> None:
    _run(stages.SCORE, job_id, number)


def _plan(session: Session, job: uuid.UUID, stage: str) -> jobs.JobPlan | None:
    """The job's plan; None, logged, when the job was deleted since the message was sent."""
    try:
        return jobs.job_plan(session, job)
    except jobs.JobNotFound:
        log.warning(f"{stage}.job_not_found")  # nothing to do
        return None


def _steps(session: Session, run: Sequence[str], job: uuid.UUID, plan: jobs.JobPlan) -> list[chain.Step]:
    """The steps of the stages `run`, with what the job and the worker give each."""
    context = stage_context()
    settings = context.settings
    steps: list[chain.Step] = []
    if stages.NORMALIZE in run:
        reason = optimize.copy_mode_reason(plan.optimize, context.copywriter is not None)
        steps.append(
            normalize_step(marketplaces=plan.marketplaces, deterministic_reason=reason, brands=context.brands)
        )
    if stages.PRICE not in run and stages.SCORE not in run:
        return steps
    rates = current_rates(session, context.rates)
    if stages.PRICE in run:
        price = price_step(
            job_id=job, marketplaces=plan.marketplaces, profile_name=plan.pricing_profile, rates=rates,
            vat_rates=settings.vat_rates, source_currencies=settings.source_currencies,
            max_rates_age_days=settings.exchange_rates_max_age_days,
        )  # fmt: skip
        steps.append(price)
    if stages.SCORE in run:
        score = score_step(
            marketplaces=plan.marketplaces, rules=rule_store.enabled_rules(session), weights=context.weights,
            rates=rates, detector=context.detector, source_currencies=settings.source_currencies,
            languages=context.languages, copy_required=plan.optimize is True,
        )  # fmt: skip
        steps.append(score)
    return steps


# A chunk's listings go out at the marketplaces' rates: 500 products at Amazon's 5 a second take
# 100 s, and a marketplace failing for a while adds its retry budget.
@dramatiq.actor(
    actor_name=messages.stage_actor_name(stages.PUBLISH), time_limit=60 * 60 * 1000, **_STAGE_ACTOR_OPTIONS
)
def publish_chunk(job_id: str, number: int) -> None:
    context = stage_context()
    job = uuid.UUID(job_id)
    with session_scope() as session:
        if (plan := _plan(session, job, stages.PUBLISH)) is None:
            return
        todo = publish.plan_publish(
            session, job, number, marketplaces=plan.marketplaces, preview=plan.publish == "preview",
            availability=context.publishing, default_quantity=context.settings.publish_default_quantity,
        )  # fmt: skip
    answers = publish.send_tasks(todo, context.publishing, publish.remember_with(session_scope))
    with session_scope() as session:
        result = publish.store_publish(session, job, number, todo, answers)
    statuses = Counter(answer.outcome for answer in answers.values())
    log.info(
        "publish.chunk_done",
        chunk=number,
        passed=len(result.product_ids),
        failed=len(result.failed_source_ids),
        actions=dict(Counter(task.action for task in todo.tasks)),
        outcomes=dict(statuses),
        product_ids=result.product_ids,
    )
    worker_metrics.publish_done(result, answers)
    nothing_waited = not result.moved_on and not result.failed_source_ids
    if nothing_waited and resend_waiting(stages.PUBLISH, job_id, number):
        return
    finish_job(job_id)


def _run(stage: str, job_id: str, number: int) -> None:
    """Run the chunk's items waiting at `stage` through the stages that follow it back to back
    (services.pipeline.stages.chain), then send the next message or try to close the job."""
    job = uuid.UUID(job_id)
    with session_scope() as session:
        if (plan := _plan(session, job, stage)) is None:
            return
        optimizing = optimize.copy_mode_reason(plan.optimize, stage_context().copywriter is not None) is None
        run = chain.stages_run_from(stage, optimize=optimizing)
        following = stages.next_stage(run[-1], optimize=optimizing, publish=plan.publishes)
        waiting = attempts.waiting(session, job, number, stage)
        if not waiting.stopped_before:
            attempts.count_attempt(session, job, list(waiting.attempts))

    def work(session: Session, only: Only) -> dict[str, StageResult]:
        return chain.run_steps(
            session, job, number, _steps(session, run, job, plan), marketplaces=plan.marketplaces,
            optimize=optimizing, publish=plan.publishes, only=only,
        )  # fmt: skip

    # Counted and committed: a crash from here on is known at the next delivery (services.pipeline.attempts).
    if not waiting.stopped_before:
        with session_scope() as session:
            results = work(session, None)
            moved_on = results[run[-1]].moved_on
            if moved_on and following is not None:
                send_stage(session, following, job_id, number)
    else:
        results = _one_at_a_time(stage, job, number, waiting, work)
        moved_on = run[-1] in results and results[run[-1]].moved_on
        if moved_on and following is not None:
            with session_scope() as session:
                send_stage(session, following, job_id, number)
    for done, result in results.items():
        log.info(
            f"{done}.chunk_done",
            chunk=number,
            passed=len(result.product_ids),
            skipped=result.skipped,
            failed=len(result.failed_source_ids),
            product_ids=result.product_ids,
        )
        worker_metrics.stage_done(done, result)
        if result.failed_source_ids:
            log.info(f"{done}.products_failed", source_ids=result.failed_source_ids)
    if not moved_on and resend_waiting(stage, job_id, number):
        return
    if following is None or not moved_on:
        finish_job(job_id)


def _one_at_a_time(
    stage: str,
    job: uuid.UUID,
    number: int,
    waiting: attempts.Waiting,
    work: Callable[[Session, Only], dict[str, StageResult]],
) -> dict[str, StageResult]:
    """A chunk stopped before: fail the items tried too often, then work the others one by one, each
    counted first, so that the next crash names its product."""
    log.warning(f"{stage}.one_at_a_time", chunk=number, attempts=waiting.attempts)
    results: dict[str, StageResult] = {}
    with session_scope() as session:
        worn_out = attempts.fail_worn_out(session, job, number, stage, waiting.worn_out())
    if worn_out:
        log.error(f"{stage}.products_worn_out", chunk=number, positions=waiting.worn_out())
    for position in waiting.to_try():
        # One suspect at a time per process: a crash kills every thread, and only the product in
        # flight alone may be blamed (two chunks recovering side by side would blame each other's).
        with _ONE_SUSPECT_AT_A_TIME:
            with session_scope() as session:
                attempts.count_attempt(session, job, [position])
            with session_scope() as session:
                parts = work(session, [position])
        for done, part in parts.items():
            result = results.setdefault(done, StageResult())
            result.product_ids += part.product_ids
            result.skipped += part.skipped
            result.failed_source_ids += part.failed_source_ids
    return results


@dramatiq.actor(actor_name=STAGE_GAVE_UP, queue_name=QUEUE, broker=broker, **RETRY_OPTIONS)
def stage_chunk_gave_up(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    job_id, number = message["args"]
    stage = messages.stage_of(message["actor_name"])
    reason = gave_up_reason(f"{stage} failed", message, retry_info)
    with session_scope() as session:
        failed = fail_items(session, uuid.UUID(job_id), number, stage, reason=reason)
    log.error("stage.chunk_gave_up", job_id=job_id, stage=stage, chunk=number, items_failed=failed)
    worker_metrics.gave_up(stage, failed)
    finish_job(job_id)

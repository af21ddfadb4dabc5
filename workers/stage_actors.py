"""The normalize, optimize, price and score actors: one message per chunk per stage (optimize: per
slice of a chunk), thin glue around services.stages.

Each actor works through the chunk's items waiting at its stage in one transaction and, after the
commit, sends the next stage's message for the same chunk; the last stage (or a chunk with nothing
left to move on) tries to close the job. Optimize reads, asks the model outside any transaction,
then writes (services.stages.optimize), and sends itself again while the chunk has items waiting.
When retries run out, `stage_chunk_gave_up` fails the chunk's items waiting at that stage, with the
reason, so the job can end.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import dramatiq
import structlog
from sqlalchemy.orm import Session

from models import stages
from services import jobs, rule_store
from services.ai.factory import build_copywriter
from services.normalize.marketplaces import set_languages
from services.pricing import ExchangeRates
from services.scoring import ScoreWeights
from services.settings import get_settings
from services.stages import optimize
from services.stages.items import StageResult, fail_items
from services.stages.normalize import normalize_chunk as normalize_products
from services.stages.price import price_chunk as price_products
from services.stages.score import score_chunk as score_products
from workers.broker import QUEUE, RETRY_OPTIONS, broker
from workers.db import session_scope
from workers.finish import finish_job, gave_up_reason
from workers.outbox import send_after_commit

log = structlog.get_logger(__name__)
settings = get_settings()
_STAGE_ACTOR_OPTIONS: dict[str, Any] = {
    "queue_name": QUEUE, "broker": broker, "on_retry_exhausted": "pipeline.stage_chunk_gave_up",
    **RETRY_OPTIONS,
}  # fmt: skip

RATES = ExchangeRates(settings.exchange_rates, settings.exchange_rates_as_of)
WEIGHTS = ScoreWeights.from_mapping(settings.quality_weights)
set_languages(settings.marketplace_languages)
# Jobs write their copy with the bulk model; None without a Groq key (the deterministic copy).
COPYWRITER = build_copywriter(settings, broker.client, model=settings.groq_bulk_model)
COPY = optimize.CopySettings(model=settings.groq_bulk_model, prompt_version=settings.ai_prompt_version)
# Model requests per marketplace in one optimize message: full batches, four at a time, so a slice
# takes about a minute at a free-tier account's pace and little time is lost when a worker stops.
SLICE_REQUESTS = 8


@dramatiq.actor(actor_name="pipeline.normalize_chunk", **_STAGE_ACTOR_OPTIONS)
def normalize_chunk(job_id: str, number: int) -> None:
    def work(session: Session, job: uuid.UUID, plan: jobs.JobPlan) -> StageResult:
        reason = optimize.copy_mode_reason(plan.optimize, COPYWRITER is not None)
        return normalize_products(
            session, job, number, marketplaces=plan.marketplaces, deterministic_reason=reason
        )

    _run(stages.NORMALIZE, job_id, number, work)


# A slice waits for the model: up to groq_max_wait_seconds + a timeout per request, four at a time.
@dramatiq.actor(actor_name="pipeline.optimize_chunk", time_limit=30 * 60 * 1000, **_STAGE_ACTOR_OPTIONS)
def optimize_chunk(job_id: str, number: int) -> None:
    job = uuid.UUID(job_id)
    with session_scope() as session:
        try:
            plan = jobs.job_plan(session, job)
        except jobs.JobNotFound:
            log.warning("optimize.job_not_found")
            return
        todo = optimize.plan_slice(
            session,
            job,
            number,
            marketplaces=plan.marketplaces,
            copy=COPY,
            max_products=SLICE_REQUESTS * settings.ai_batch_size,
        )
    written = optimize.write_copies(
        todo, COPYWRITER, batch_size=settings.ai_batch_size, unavailable_reason=optimize.NO_KEY
    )
    with session_scope() as session:
        result = optimize.store_slice(session, job, number, todo, written)
        if result.moved_on:
            send_stage(session, stages.PRICE, job_id, number)
        if todo.more:
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
    if not result.moved_on and not todo.more:
        finish_job(job_id)


@dramatiq.actor(actor_name="pipeline.price_chunk", **_STAGE_ACTOR_OPTIONS)
def price_chunk(job_id: str, number: int) -> None:
    def work(session: Session, job: uuid.UUID, plan: jobs.JobPlan) -> StageResult:
        return price_products(
            session,
            job,
            number,
            marketplaces=plan.marketplaces,
            profile_name=plan.pricing_profile,
            rates=RATES,
        )

    _run(stages.PRICE, job_id, number, work)


@dramatiq.actor(actor_name="pipeline.score_chunk", **_STAGE_ACTOR_OPTIONS)
def score_chunk(job_id: str, number: int) -> None:
    def work(session: Session, job: uuid.UUID, plan: jobs.JobPlan) -> StageResult:
        rules = rule_store.enabled_rules(session)
        return score_products(
            session, job, number, marketplaces=plan.marketplaces, rules=rules, weights=WEIGHTS, rates=RATES
        )

    _run(stages.SCORE, job_id, number, work)


STAGE_ACTORS: dict[str, dramatiq.Actor[[str, int], None]] = {
    stages.NORMALIZE: normalize_chunk,
    stages.OPTIMIZE: optimize_chunk,
    stages.PRICE: price_chunk,
    stages.SCORE: score_chunk,
}


def send_stage(session: Session, stage: str, job_id: str, number: int) -> None:
    """Send the message of `stage` for chunk `number`, after the session commits."""
    send_after_commit(session, STAGE_ACTORS[stage].message(job_id, number))


def _run(
    stage: str,
    job_id: str,
    number: int,
    work: Callable[[Session, uuid.UUID, jobs.JobPlan], StageResult],
) -> None:
    with session_scope() as session:
        try:
            plan = jobs.job_plan(session, uuid.UUID(job_id))
        except jobs.JobNotFound:
            log.warning(f"{stage}.job_not_found")  # deleted since: nothing to do
            return
        optimizing = optimize.copy_mode_reason(plan.optimize, COPYWRITER is not None) is None
        following = stages.next_stage(stage, optimize=optimizing)
        result = work(session, uuid.UUID(job_id), plan)
        if result.moved_on and following is not None:
            send_stage(session, following, job_id, number)
    log.info(
        f"{stage}.chunk_done",
        chunk=number,
        passed=len(result.product_ids),
        skipped=result.skipped,
        failed=len(result.failed_source_ids),
        product_ids=result.product_ids,
    )
    if result.failed_source_ids:
        log.info(f"{stage}.products_failed", source_ids=result.failed_source_ids)
    if following is None or not result.moved_on:
        finish_job(job_id)


@dramatiq.actor(actor_name="pipeline.stage_chunk_gave_up", queue_name=QUEUE, broker=broker, **RETRY_OPTIONS)
def stage_chunk_gave_up(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    job_id, number = message["args"]
    stage = message["actor_name"].removeprefix("pipeline.").removesuffix("_chunk")
    reason = gave_up_reason(f"{stage} failed", message, retry_info)
    with session_scope() as session:
        failed = fail_items(session, uuid.UUID(job_id), number, stage, reason=reason)
    log.error("stage.chunk_gave_up", job_id=job_id, stage=stage, chunk=number, items_failed=failed)
    finish_job(job_id)

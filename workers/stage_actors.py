"""The normalize, price and score actors: one message per chunk per stage, thin glue around services.stages.

Each actor works through the chunk's items waiting at its stage in one transaction and, after the
commit, sends the next stage's message for the same chunk; the last stage (or a chunk with nothing
left to move on) tries to close the job. When retries run out, `stage_chunk_gave_up` fails the
chunk's items waiting at that stage, with the reason, so the job can end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import dramatiq
import structlog
from sqlalchemy.orm import Session

from models import stages
from services import jobs, rule_store
from services.pricing import ExchangeRates
from services.scoring import ScoreWeights
from services.settings import get_settings
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


@dramatiq.actor(actor_name="pipeline.normalize_chunk", **_STAGE_ACTOR_OPTIONS)
def normalize_chunk(job_id: str, number: int) -> None:
    def work(session: Session, job: uuid.UUID, plan: jobs.JobPlan) -> StageResult:
        return normalize_products(session, job, number, marketplaces=plan.marketplaces)

    _run(stages.NORMALIZE, job_id, number, work)


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
    following = stages.next_stage(stage)
    with session_scope() as session:
        try:
            plan = jobs.job_plan(session, uuid.UUID(job_id))
        except jobs.JobNotFound:
            log.warning(f"{stage}.job_not_found")  # deleted since: nothing to do
            return
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

"""Run a job's stages in-process, on the test's session, as the workers would (without the broker)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from models import JobChunk, stages
from services import jobs, product_import, rule_store
from services.pricing import ExchangeRates
from services.scoring import DEFAULT_WEIGHTS
from services.stages.normalize import normalize_chunk
from services.stages.price import price_chunk
from services.stages.score import score_chunk

RATES = ExchangeRates({"PLN": Decimal("4.25"), "USD": Decimal("1.08")}, date(2026, 11, 20))


def run_stages(session, job_id: uuid.UUID, *, rates: ExchangeRates = RATES) -> None:
    """Normalize, price and score every chunk of an imported job."""
    plan = jobs.job_plan(session, job_id)
    numbers = list(session.scalars(select(JobChunk.number).where(JobChunk.job_id == job_id)))
    for number in numbers:
        normalize_chunk(session, job_id, number, marketplaces=plan.marketplaces)
        price_chunk(
            session,
            job_id,
            number,
            marketplaces=plan.marketplaces,
            profile_name=plan.pricing_profile,
            rates=rates,
        )
        score_chunk(
            session, job_id, number, marketplaces=plan.marketplaces, rules=rule_store.enabled_rules(session),
            weights=DEFAULT_WEIGHTS, rates=rates,
        )  # fmt: skip


def run_pipeline(session, job_id: uuid.UUID, *, rates: ExchangeRates = RATES) -> str | None:
    """The whole job: import, the stages, and its end; returns the job's final status."""
    for number in jobs.begin_job(session, job_id):
        product_import.import_chunk(session, job_id, number, next_stage=stages.NORMALIZE)
    run_stages(session, job_id, rates=rates)
    return jobs.finish_if_done(session, job_id)

"""Run a job's stages in-process, on the test's session, as the workers would (without the broker)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from models import JobChunk, stages
from services.ai import Copywriter
from services.marketplaces import DEFAULT_MARKETPLACES, marketplace_languages
from services.normalize.language import detector_for
from services.pipeline import jobs
from services.pipeline.stages import chain, optimize, publish
from services.pipeline.stages import import_ as product_import
from services.pipeline.stages.normalize import normalize_chunk, normalize_step
from services.pipeline.stages.price import price_step
from services.pipeline.stages.score import score_step
from services.platform.settings import get_settings
from services.pricing import ExchangeRates
from services.publishing.clients.registry import Availability
from services.rules import store as rule_store
from services.scoring import DEFAULT_WEIGHTS

RATES = ExchangeRates({"PLN": Decimal("4.25"), "USD": Decimal("1.08")}, date(2026, 11, 20))


DETECTOR = detector_for(marketplace_languages())


def price_settings() -> dict[str, Any]:
    """What the price stage takes from the configuration (VAT_RATES, SOURCE_CURRENCIES), as the
    worker passes it."""
    settings = get_settings()
    return {"vat_rates": settings.vat_rates, "source_currencies": settings.source_currencies}


COPY = optimize.CopySettings(model="llama-3.1-8b-instant", prompt_version="1")
NOTHING_CONFIGURED = Availability({}, {})


def _remember_on(session):
    """Ids remembered on the test's own session (the worker uses a transaction of their own)."""

    def remember(listing, ids):
        publish.remember_ids(session, listing.product_id, listing.marketplace, listing.sku, ids)

    return remember


def run_stages(
    session,
    job_id: uuid.UUID,
    *,
    rates: ExchangeRates = RATES,
    copywriter: Copywriter | None = None,
    batch_size: int = 1,
    max_products: int = 24,
    copy: optimize.CopySettings = COPY,
    availability: Availability = NOTHING_CONFIGURED,
    default_quantity: int | None = None,
) -> None:
    """Normalize, optimize (with a copywriter, when the job does), price, score and (when the job asks,
    with the clients of `availability`) publish every chunk of an imported job, the stages that run
    back to back in one worker message run so here too."""
    plan = jobs.job_plan(session, job_id)
    reason = optimize.copy_mode_reason(plan.optimize, copywriter is not None)
    numbers = list(session.scalars(select(JobChunk.number).where(JobChunk.job_id == job_id)))
    optimizing = reason is None
    rules = rule_store.enabled_rules(session)
    steps = {
        stages.NORMALIZE: normalize_step(marketplaces=plan.marketplaces, deterministic_reason=reason),
        stages.PRICE: price_step(
            job_id=job_id, marketplaces=plan.marketplaces, profile_name=plan.pricing_profile, rates=rates,
            **price_settings(),
        ),
        stages.SCORE: score_step(
            marketplaces=plan.marketplaces, rules=rules, weights=DEFAULT_WEIGHTS, rates=rates,
            detector=DETECTOR, languages=copy.languages, copy_required=plan.optimize is True,
            source_currencies=price_settings()["source_currencies"],
        ),
    }  # fmt: skip

    def run_from(stage: str, number: int) -> None:
        """The stages a worker's message runs back to back from `stage` (chain.stages_run_from)."""
        run = chain.stages_run_from(stage, optimize=optimizing)
        chain.run_steps(
            session, job_id, number, [steps[s] for s in run], marketplaces=plan.marketplaces,
            optimize=optimizing, publish=plan.publishes,
        )  # fmt: skip

    for number in numbers:
        run_from(stages.NORMALIZE, number)
        more = optimizing
        while more:
            todo = optimize.plan_slice(
                session, job_id, number, marketplaces=plan.marketplaces, copy=copy, max_products=max_products
            )
            written = optimize.write_copies(todo, copywriter, batch_size=batch_size)
            optimize.store_slice(session, job_id, number, todo, written)
            more = todo.more
        # What waits at a later stage still (the test ran a stage alone, or the job optimized) goes on.
        run_from(stages.PRICE, number)
        run_from(stages.SCORE, number)
        if plan.publishes:
            to_publish = publish.plan_publish(
                session, job_id, number, marketplaces=plan.marketplaces, preview=plan.publish == "preview",
                availability=availability, default_quantity=default_quantity,
            )  # fmt: skip
            answers = publish.send_tasks(to_publish, availability, remember=_remember_on(session))
            publish.store_publish(session, job_id, number, to_publish, answers)


def run_pipeline(session, job_id: uuid.UUID, **options: Any) -> str | None:
    """The whole job: import, the stages (`options` as run_stages takes them), and its end; returns
    the job's final status."""
    for number in jobs.begin_job(session, job_id):
        product_import.import_chunk(session, job_id, number, next_stage=stages.NORMALIZE)
    run_stages(session, job_id, **options)
    return jobs.finish_if_done(session, job_id)


def normalize_first_chunk(session, job_id: uuid.UUID):
    """The normalize stage on chunk 0 of an imported job on the default marketplaces, keeping the
    deterministic copy (no model key); returns what normalize_chunk returns."""
    return normalize_chunk(
        session, job_id, 0, marketplaces=DEFAULT_MARKETPLACES, deterministic_reason=optimize.NO_KEY
    )

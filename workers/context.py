"""What the stage actors take from configuration, built once per worker process when first needed
(workers; imports the platform and the domains' constructors).

Not at import: importing an actor module declares its actors and nothing else, so a process that only
sends messages (the API, a test) builds no clients. A worker builds it when it starts
(workers/main.py), so rates, weights or languages a domain cannot use stop it then, with the domain's
message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import dramatiq
from redis import Redis

from services.ai import Copywriter
from services.ai.factory import build_copywriter
from services.marketplaces import check_languages, marketplace_languages
from services.normalize.extract import known_brands
from services.normalize.language import LanguageDetector, detector_for
from services.pipeline.stages.optimize import CopySettings
from services.platform.settings import Settings, get_settings
from services.pricing import ExchangeRates
from services.publishing.clients.registry import Availability, availability_from
from services.scoring import ScoreWeights

# Model requests per marketplace in one optimize message: full batches, four at a time, so a slice
# takes about a minute at a free-tier account's pace and little time is lost when a worker stops.
SLICE_REQUESTS = 8


@dataclass(frozen=True, slots=True)
class StageContext:
    settings: Settings
    rates: ExchangeRates
    weights: ScoreWeights
    languages: Mapping[str, str]  # configured languages of marketplaces (MARKETPLACE_LANGUAGES)
    copywriter: Copywriter | None  # jobs write their copy with the bulk model; None without a Groq key
    copy: CopySettings
    detector: LanguageDetector  # tells apart the languages of every marketplace, as configured
    brands: Mapping[str, str]  # the brands a title may name: the built-in ones and EXTRA_BRANDS
    publishing: Availability  # a client per configured marketplace, and why the others cannot publish

    @property
    def slice_products(self) -> int:
        return SLICE_REQUESTS * self.settings.ai_batch_size


@lru_cache(maxsize=1)
def stage_context() -> StageContext:
    """The worker's context, built on first use (workers/main.py asks for it when the worker starts)."""
    # The copywriter's limiter shares the broker's Redis. Dramatiq's StubBroker (tests) has no Redis:
    # it serves only settings without a Groq key, hence without a copywriter.
    redis: Redis | None = getattr(dramatiq.get_broker(), "client", None)
    return build_stage_context(get_settings(), redis)


def build_stage_context(settings: Settings, redis: Redis | None) -> StageContext:
    """ValueError naming the problem for rates, weights or languages the domains cannot use."""
    languages = check_languages(settings.marketplace_languages)
    brands = known_brands(settings.extra_brands)
    return StageContext(
        settings=settings,
        rates=ExchangeRates(settings.exchange_rates, settings.exchange_rates_as_of),
        weights=ScoreWeights.from_mapping(settings.quality_weights),
        languages=languages,
        copywriter=build_copywriter(settings, redis, model=settings.groq_bulk_model),
        copy=CopySettings(
            model=settings.groq_bulk_model,
            prompt_version=settings.ai_prompt_version,
            languages=languages,
            refusal_cache_hours=settings.ai_refusal_cache_hours,
            brands=brands,
        ),
        detector=detector_for(marketplace_languages(languages)),
        brands=brands,
        publishing=availability_from(settings, redis),
    )

"""The copywriter the settings describe: Groq through the SDK, behind the limiter every process shares.

No `GROQ_API_KEY`: None, and the deterministic copy is used (its listings say so). The copywriter's
language detector tells apart every marketplace's language as configured (MARKETPLACE_LANGUAGES).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.ai.client import GroqChatModel
from services.ai.copywriter import Copywriter, copy_detector
from services.ai.limiter import SharedRateLimiter
from services.marketplaces import check_languages

if TYPE_CHECKING:
    from redis import Redis

    from services.platform.settings import Settings


def build_copywriter(
    settings: Settings, redis: Redis | None, *, model: str, max_wait_seconds: float | None = None
) -> Copywriter | None:
    """A copywriter for `model` (the bulk model for jobs, the main one for single products), or None
    without a key. `max_wait_seconds` bounds one call's wait (default: the setting)."""
    key = settings.groq_api_key.get_secret_value()
    if not key:
        return None
    if redis is None:
        raise ValueError("a copywriter needs Redis: the account's rate limits are shared through it")
    limiter = SharedRateLimiter.for_model(
        redis,
        model,
        requests_per_minute=settings.groq_requests_per_minute,
        tokens_per_minute=settings.groq_tokens_per_minute,
    )
    chat = GroqChatModel(
        key,
        base_url=settings.groq_base_url,
        timeout_seconds=settings.groq_timeout_seconds,
        max_wait_seconds=settings.groq_max_wait_seconds if max_wait_seconds is None else max_wait_seconds,
        limiter=limiter,
    )
    languages = check_languages(settings.marketplace_languages)
    return Copywriter(
        chat,
        model_name=model,
        prompt_version=settings.ai_prompt_version,
        languages=languages,
        detector=copy_detector(languages),  # an answer in another language than its marketplace's is refused
    )

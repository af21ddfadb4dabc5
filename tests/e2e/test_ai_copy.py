"""End to end with AI copy: the API and a worker process, the worker's real groq SDK talking to the
fake Groq server over loopback, through a 429, a 500 and an unreadable answer."""

from __future__ import annotations

import re
import time

import pytest

from tests.support.factories import product
from tests.support.fake_groq import FakeGroq
from tests.support.rows import rows

pytestmark = pytest.mark.e2e

MARKETPLACES = ["amazon_de", "ebay_de", "allegro_pl"]


def language_asked(request) -> str:
    found = re.search(r"description in (\w+) \(", request.messages[0]["content"])
    assert found is not None
    return found[1]


def test_a_job_with_ai_copy_survives_the_models_failures_and_a_reimport_costs_nothing(stack):
    # An account with room for the whole job in a minute: the pacing under tighter limits is the
    # limiter's tests' and bench/ai_copy.py's.
    with FakeGroq(tokens_per_minute=1_000_000) as fake:
        fake.queue("rate_limited", retry_after=0.5).queue("server_error").queue("invalid_json")
        stack.env |= {
            "GROQ_API_KEY": fake.api_key,
            "GROQ_BASE_URL": fake.base_url,
            "GROQ_MAX_WAIT_SECONDS": "10",
            "GROQ_TIMEOUT_SECONDS": "5",
            "AI_BATCH_SIZE": "3",
            "GROQ_TOKENS_PER_MINUTE": "1000000",
            "GROQ_REQUESTS_PER_MINUTE": "1000",
        }
        stack.start_api()
        stack.start_worker()
        products = [product(i) for i in range(12)]
        batch = {"source": "allegro", "products": products, "options": {"marketplaces": MARKETPLACES}}

        first = stack.wait_for_job(stack.post("/api/import/webhook", batch).json()["job_id"])

        assert first["status"] == "completed", first
        assert first["stages"]["optimize"] == {"done": 12, "failed": 0}
        assert first["ai"]["copy_status"] == {"optimized": 36}
        assert first["ai"]["total_tokens"] > 0
        spent = rows(
            stack,
            "SELECT sum(ai_prompt_tokens), sum(ai_completion_tokens), sum(ai_requests) FROM job_items"
            " WHERE job_id = :job",
            job=first["id"],
        )[0]
        assert tuple(spent) == (
            first["ai"]["prompt_tokens"],
            first["ai"]["completion_tokens"],
            first["ai"]["requests"],
        )
        asked = fake.chat_requests
        assert {language_asked(r) for r in asked if "eBay.de" in r.messages[0]["content"]} == {"German"}
        assert {language_asked(r) for r in asked if "Allegro" in r.messages[0]["content"]} == {"Polish"}
        # 12 products × 3 marketplaces in batches of 3: 12 batches, plus the 429, the 500 and the repairs
        # of the batch whose answer could not be read
        # 12 products × 3 marketplaces in batches of 3: 12 requests; then the 429's and the 500's retries,
        # and the 3 products of the batch whose answer could not be read, repaired one by one
        assert len(asked) == 12 + 2 + 3
        (cached,) = rows(stack, "SELECT count(*) FROM ai_copy_cache")[0]
        assert cached == 36
        (bad_titles,) = rows(
            stack,
            "SELECT count(*) FROM product_listings WHERE ai_status = 'optimized'"
            " AND (title IS NULL OR description_html IS NULL OR ai_grounding < 0.5)",
        )[0]
        assert bad_titles == 0

        again = stack.wait_for_job(stack.post("/api/import/webhook", batch).json()["job_id"])

        assert again["status"] == "completed"
        assert (again["ai"]["total_tokens"], again["ai"]["requests"]) == (0, 0)
        assert again["ai"]["copy_status"] == {"optimized": 36}
        assert len(fake.chat_requests) == len(asked)


def test_products_held_by_the_accounts_limits_wait_and_are_optimized_after_the_wait(stack):
    """2 requests a minute and 1 s of waiting allowed: the third product's request is deferred (it
    waits at optimize, no worker thread held) and written once the minute has passed."""
    with FakeGroq(tokens_per_minute=1_000_000) as fake:
        stack.env |= {
            "GROQ_API_KEY": fake.api_key,
            "GROQ_BASE_URL": fake.base_url,
            "GROQ_MAX_WAIT_SECONDS": "1",
            "GROQ_REQUESTS_PER_MINUTE": "2",
            "GROQ_TOKENS_PER_MINUTE": "1000000",
            "AI_BATCH_SIZE": "1",
        }
        stack.start_api()
        stack.start_worker()
        batch = {"source": "allegro", "products": [product(i) for i in range(3)],
                 "options": {"marketplaces": ["ebay_de"]}}  # fmt: skip
        started = time.monotonic()

        job = stack.wait_for_job(stack.post("/api/import/webhook", batch).json()["job_id"], timeout=150)

        assert job["status"] == "completed", job
        assert job["ai"]["copy_status"] == {"optimized": 3}
        assert time.monotonic() - started > 50  # the third waited for the next minute
        assert len(fake.chat_requests) == 3
        assert "optimize.deferred_for_rate_limits" in (stack.logs / "worker.log").read_text()

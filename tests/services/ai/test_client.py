"""GroqChatModel against the fake Groq server (real HTTP on loopback, the real SDK)."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime

import pytest

from services.ai.chat import ChatMessage, ChatUnavailable, RateLimitState
from services.ai.client import (
    GroqChatModel,
    estimate_tokens,
    parse_groq_duration,
    parse_rate_limit_headers,
    retry_after_seconds,
)
from services.ai.limiter import RateLimitWait, SharedRateLimiter
from tests.support.fake_groq import CHAT_PATH, FakeGroq, go_duration

MODEL = "llama-3.3-70b-versatile"
PRODUCT = {"title": "Czajnik elektryczny 1,7 l", "brand": "Bosch", "color": "biały", "power_w": 2200}
MESSAGES = [
    ChatMessage(
        "system", "You write marketplace copy. Answer a JSON object with title and description_html."
    ),
    ChatMessage("user", "Product data:\n" + json.dumps(PRODUCT, ensure_ascii=False)),
]


@pytest.fixture
def fake():
    with FakeGroq() as server:
        yield server


class Sleeps(list[float]):
    """An instant sleep that remembers what it was asked for."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def chat_model(fake: FakeGroq, **options) -> GroqChatModel:
    return GroqChatModel(options.pop("api_key", fake.api_key), base_url=fake.base_url, **options)


def complete(model: GroqChatModel, max_tokens: int = 400):
    return model.complete_json(MESSAGES, model=MODEL, max_tokens=max_tokens)


def test_a_good_answer(fake):
    result = complete(chat_model(fake))

    answer = json.loads(result.content)
    assert answer["title"] == "Bosch Czajnik elektryczny 1,7 l"
    assert "2200" in answer["description_html"]
    assert result.model == MODEL
    chars = sum(len(m.content) for m in MESSAGES)
    assert result.prompt_tokens == round(chars / 4)
    assert result.completion_tokens == round(len(result.content) / 4)
    assert result.total_tokens == result.prompt_tokens + result.completion_tokens
    assert result.rate_limit.remaining_requests == 14_399
    assert result.rate_limit.remaining_tokens == 6_000 - result.total_tokens
    assert result.rate_limit.reset_requests_seconds == pytest.approx(6.0)
    assert result.rate_limit.reset_tokens_seconds == pytest.approx(result.total_tokens / 100, abs=0.01)


def test_the_request_asks_for_a_json_object_from_the_model(fake):
    GroqChatModel(fake.api_key, base_url=fake.base_url).complete_json(
        MESSAGES, model="llama-3.1-8b-instant", max_tokens=256, temperature=0.4
    )

    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == CHAT_PATH
    assert request.headers["authorization"] == f"Bearer {fake.api_key}"
    assert request.headers["x-stainless-retry-count"] == "0"
    assert request.body["model"] == "llama-3.1-8b-instant"
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.body["max_tokens"] == 256
    assert request.body["temperature"] == 0.4
    assert request.messages == [{"role": m.role, "content": m.content} for m in MESSAGES]


def test_groq_durations_in_the_headers_are_parsed(fake):
    fake.queue(
        headers={
            "x-ratelimit-remaining-requests": "14370",
            "x-ratelimit-remaining-tokens": "5112",
            "x-ratelimit-reset-requests": "2m59.56s",
            "x-ratelimit-reset-tokens": "450ms",
        }
    )
    state = complete(chat_model(fake)).rate_limit
    assert (state.remaining_requests, state.remaining_tokens) == (14_370, 5_112)
    assert state.reset_requests_seconds == pytest.approx(179.56)
    assert state.reset_tokens_seconds == pytest.approx(0.45)


def test_the_answer_callable_decides_the_content(fake):
    fake.queue(answer=lambda body: {"title": body["model"], "description_html": "<p>x</p>"})
    fake.queue(answer=lambda body: "not even JSON")
    model = chat_model(fake)
    assert json.loads(complete(model).content) == {"title": MODEL, "description_html": "<p>x</p>"}
    assert complete(model).content == "not even JSON"


def test_the_client_passes_bad_answers_on_for_the_copy_logic_to_judge(fake):
    fake.queue("invalid_json").queue("wrong_shape").queue("ungrounded")
    model = chat_model(fake)

    invalid = complete(model).content
    with pytest.raises(json.JSONDecodeError):
        json.loads(invalid)
    wrong_shape = json.loads(complete(model).content)
    assert "title" not in wrong_shape
    assert "description_html" in wrong_shape
    ungrounded = json.loads(complete(model).content)
    assert ungrounded["title"].startswith("Bosch Czajnik")
    assert "Titanium" in ungrounded["title"]
    assert "warranty" in ungrounded["description_html"]


def test_a_429_waits_retry_after_and_tries_again(fake):
    fake.queue("rate_limited", retry_after=1)
    started = time.monotonic()

    result = complete(chat_model(fake))

    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.5
    assert json.loads(result.content)["title"]
    assert len(fake.requests) == 2


def test_429s_do_not_count_as_failures(fake):
    fake.queue("rate_limited", times=4, retry_after=0.5)
    sleeps = Sleeps()
    result = complete(chat_model(fake, sleep=sleeps))
    assert result.content
    assert sleeps == [0.5] * 4
    assert len(fake.requests) == 5


def test_a_429_longer_than_the_wait_allowed_gives_up_at_once(fake):
    fake.queue("rate_limited", retry_after=120)
    started = time.monotonic()

    with pytest.raises(ChatUnavailable) as unavailable:
        complete(chat_model(fake, max_wait_seconds=2))

    assert time.monotonic() - started < 1
    assert unavailable.value.reason == "rate limited for longer than 2 s"
    assert unavailable.value.retry_after_seconds == 120
    assert len(fake.requests) == 1


def test_a_429_is_retried_only_while_the_budget_lasts(fake):
    fake.set_default("rate_limited", retry_after=0.4)
    with pytest.raises(ChatUnavailable) as unavailable:
        complete(chat_model(fake, max_wait_seconds=1))
    assert unavailable.value.reason == "rate limited for longer than 1 s"
    assert unavailable.value.retry_after_seconds == pytest.approx(0.4)
    assert len(fake.requests) == 3  # at 0, 0.4 and 0.8 s: then 0.4 s more would not fit


def test_server_errors_three_times_give_up(fake):
    fake.set_default("server_error")
    sleeps = Sleeps()

    with pytest.raises(ChatUnavailable) as unavailable:
        complete(chat_model(fake, sleep=sleeps))

    assert unavailable.value.reason == "Groq answered 500 three times"
    assert unavailable.value.retry_after_seconds is None
    assert sleeps == [0.5, 1.0]
    assert len(fake.requests) == 3


def test_server_errors_really_back_off(fake):
    fake.queue("server_error", status=503)
    started = time.monotonic()
    assert complete(chat_model(fake)).content
    assert 0.45 <= time.monotonic() - started < 2
    assert len(fake.requests) == 2


def test_a_server_error_then_an_answer(fake):
    fake.queue("server_error", times=2, status=502)
    result = complete(chat_model(fake, sleep=Sleeps()))
    assert json.loads(result.content)["title"]
    assert len(fake.requests) == 3


def test_backoff_stays_within_the_budget(fake):
    fake.set_default("server_error")
    with pytest.raises(ChatUnavailable) as unavailable:
        complete(chat_model(fake, max_wait_seconds=0.2))
    assert unavailable.value.reason == "Groq answered 500"
    assert len(fake.requests) == 1


def test_a_slow_answer_times_out(fake):
    fake.set_default("slow", seconds=3)
    started = time.monotonic()

    with pytest.raises(ChatUnavailable) as unavailable:
        complete(chat_model(fake, timeout_seconds=1, max_wait_seconds=1))

    assert unavailable.value.reason == "no answer within 1 s"
    assert time.monotonic() - started < 2
    assert len(fake.requests) == 1


def test_timeouts_are_retried(fake):
    fake.queue("slow", times=2, seconds=3)
    sleeps = Sleeps()
    started = time.monotonic()

    result = complete(chat_model(fake, timeout_seconds=0.3, sleep=sleeps))

    assert json.loads(result.content)["title"]
    assert sleeps == [0.5, 1.0]
    assert time.monotonic() - started < 2
    assert len(fake.requests) == 3


def test_a_slow_answer_within_the_timeout_is_fine(fake):
    fake.queue("slow", seconds=0.2)
    assert complete(chat_model(fake, timeout_seconds=2)).content


def test_a_wrong_api_key_is_refused_at_once(fake):
    sleeps = Sleeps()
    with pytest.raises(ChatUnavailable) as unavailable:
        complete(chat_model(fake, api_key="gsk_wrong", sleep=sleeps))
    assert unavailable.value.reason == "Groq refused the API key"
    assert sleeps == []
    assert len(fake.requests) == 1
    assert fake.requests[0].headers["authorization"] == "Bearer gsk_wrong"


def test_a_bad_request_is_refused_at_once_with_groqs_reason(fake):
    fake.queue("bad_request")
    with pytest.raises(ChatUnavailable) as unavailable:
        complete(chat_model(fake))
    assert unavailable.value.reason.startswith("Groq refused the request (400: Failed to generate JSON")
    assert len(fake.requests) == 1


def test_no_server_at_all():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    sleeps = Sleeps()
    model = GroqChatModel("gsk_x", base_url=f"http://127.0.0.1:{port}", timeout_seconds=1, sleep=sleeps)

    with pytest.raises(ChatUnavailable) as unavailable:
        complete(model)

    assert unavailable.value.reason.startswith("could not reach Groq (ConnectError")
    assert unavailable.value.reason.endswith("three times")
    assert sleeps == [0.5, 1.0]


# -- with the shared limiter -----------------------------------------------------------------------


def limiter(redis_client, **options) -> SharedRateLimiter:
    options.setdefault("requests_per_minute", 30)
    options.setdefault("tokens_per_minute", 6_000)
    return SharedRateLimiter(redis_client, prefix="test:groq", **options)


def test_each_call_reserves_the_estimate_and_keeps_what_the_answer_used(fake, redis_client):
    shared = limiter(redis_client)
    seen: list[int] = []
    reserve = shared.reserve

    def spying(tokens, max_wait_seconds):
        seen.append(tokens)
        return reserve(tokens, max_wait_seconds)

    shared.reserve = spying  # type: ignore[method-assign]
    result = complete(chat_model(fake, limiter=shared), max_tokens=400)

    assert seen == [estimate_tokens(MESSAGES, 400)]
    usage = shared.usage()
    assert usage.requests == 1
    assert usage.tokens == result.total_tokens < seen[0]  # the unused reservation is free again


def test_the_limiter_refuses_past_the_wait_allowed_without_calling_groq(fake, redis_client):
    shared = limiter(redis_client, requests_per_minute=1)
    model = chat_model(fake, limiter=shared, max_wait_seconds=1)
    complete(model)

    with pytest.raises(ChatUnavailable) as unavailable:
        complete(model)

    assert unavailable.value.reason == "rate limited for longer than 1 s"
    assert unavailable.value.retry_after_seconds == pytest.approx(60, abs=1)
    assert len(fake.requests) == 1


def test_a_request_larger_than_the_token_budget_is_refused(fake, redis_client):
    model = chat_model(fake, limiter=limiter(redis_client, tokens_per_minute=1_000))
    with pytest.raises(ChatUnavailable) as unavailable:
        complete(model, max_tokens=1_000)
    assert "more than the 1000 a minute" in unavailable.value.reason
    assert unavailable.value.retry_after_seconds is None
    assert fake.requests == []


def test_groqs_headers_tighten_the_limiter(fake, redis_client):
    shared = limiter(redis_client)
    fake.queue(headers={"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "30s"})
    complete(chat_model(fake, limiter=shared))
    with pytest.raises(RateLimitWait) as refused:
        shared.acquire(1, 0)
    assert refused.value.needed_seconds == pytest.approx(30, abs=1)


def test_a_429_holds_every_worker(fake, redis_client):
    fake.queue("rate_limited", retry_after=30)
    with pytest.raises(ChatUnavailable):
        complete(chat_model(fake, limiter=limiter(redis_client), max_wait_seconds=5))
    another_worker = limiter(redis_client)
    with pytest.raises(RateLimitWait) as refused:
        another_worker.acquire(1, 0)
    assert refused.value.needed_seconds == pytest.approx(30, abs=1)


def test_a_429_with_the_limiter_retries(fake, redis_client):
    shared = limiter(redis_client)
    fake.queue("rate_limited", retry_after=0.3)
    assert complete(chat_model(fake, limiter=shared)).content
    assert len(fake.requests) == 2
    assert shared.usage().requests >= 2


# -- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2m59.56s", 179.56),
        ("7.66s", 7.66),
        ("2.5s", 2.5),
        ("450ms", 0.45),
        ("1h2m3s", 3723),
        ("1m", 60),
        ("0s", 0),
        ("12µs", 0.000012),
        ("2.5", 2.5),
        ("30", 30),
        (" 7.66s ", 7.66),
    ],
)
def test_groq_durations(text, seconds):
    assert parse_groq_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, "", "soon", "5x", "s", "1m 2s", "-1", "nan", "2s3"])
def test_not_durations(text):
    assert parse_groq_duration(text) is None


@pytest.mark.parametrize("seconds", [0.45, 7.66, 59.99, 179.56, 3723.5])
def test_the_fakes_durations_read_back(seconds):
    assert parse_groq_duration(go_duration(seconds)) == pytest.approx(seconds, abs=0.01)


def test_rate_limit_headers_missing_or_unreadable():
    assert parse_rate_limit_headers({}) == RateLimitState()
    assert (
        parse_rate_limit_headers(
            {"x-ratelimit-remaining-requests": "many", "x-ratelimit-reset-tokens": "later"}
        )
        == RateLimitState()
    )


def test_retry_after():
    assert retry_after_seconds({"retry-after": "7"}) == 7
    assert retry_after_seconds({"retry-after": "2.5"}) == 2.5
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"retry-after": "Wed, 01 Jan 2025 12:00:20 GMT"}, now=lambda: now) == 20
    assert (
        retry_after_seconds({"x-ratelimit-reset-requests": "3s", "x-ratelimit-reset-tokens": "7.66s"}) == 7.66
    )
    assert retry_after_seconds({}) == 1.0


def test_estimate_tokens():
    messages = [ChatMessage("system", "x" * 10), ChatMessage("user", "y" * 30)]
    assert estimate_tokens(messages, 100) == 110

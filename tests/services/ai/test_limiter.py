"""SharedRateLimiter on the suite's real Redis, with a fake clock (sleeping advances it)."""

from __future__ import annotations

import threading
import time

import pytest

from services.ai.chat import RateLimitState
from services.ai.limiter import RateLimitWait, RequestTooLarge, SharedRateLimiter, WindowUsage

START = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_limiter(redis_client, clock):
    def make(rpm: int = 30, tpm: int = 6_000, prefix: str = "test:ratelimit", **options) -> SharedRateLimiter:
        options.setdefault("clock", clock)
        options.setdefault("sleep", clock.sleep)
        return SharedRateLimiter(
            redis_client, requests_per_minute=rpm, tokens_per_minute=tpm, prefix=prefix, **options
        )

    return make


def test_requests_per_minute(make_limiter, clock):
    limiter = make_limiter(rpm=3)
    assert [limiter.acquire(10, 0) for _ in range(3)] == [0, 0, 0]

    with pytest.raises(RateLimitWait) as refused:
        limiter.acquire(10, max_wait_seconds=30)
    assert refused.value.needed_seconds == pytest.approx(60)
    assert clock.sleeps == []  # refused at once, without sleeping in vain

    assert limiter.acquire(10, max_wait_seconds=61) == pytest.approx(60, abs=0.01)
    assert limiter.usage() == WindowUsage(requests=1, tokens=10)  # the first three left the window


def test_the_window_slides(make_limiter, clock):
    limiter = make_limiter(rpm=2)
    limiter.acquire(1, 0)
    clock.advance(30)
    limiter.acquire(1, 0)
    clock.advance(15)
    # The one from t=0 leaves at t=60: 15 s from now.
    assert limiter.acquire(1, 20) == pytest.approx(15, abs=0.01)
    assert limiter.usage().requests == 2


def test_tokens_per_minute(make_limiter, clock):
    limiter = make_limiter(tpm=1_000)
    limiter.acquire(600, 0)
    with pytest.raises(RateLimitWait) as refused:
        limiter.acquire(500, 0)
    assert refused.value.needed_seconds == pytest.approx(60)
    clock.advance(10)
    assert limiter.acquire(400, 0) == 0  # exactly the budget
    assert limiter.usage() == WindowUsage(requests=2, tokens=1_000)


def test_settling_a_reservation_frees_the_tokens_it_did_not_use(make_limiter, clock):
    limiter = make_limiter(tpm=1_000)
    reservation = limiter.reserve(900, 0)
    with pytest.raises(RateLimitWait):
        limiter.reserve(500, 0)

    limiter.settle(reservation, 300)

    assert limiter.usage() == WindowUsage(requests=1, tokens=300)
    clock.advance(30)
    limiter.reserve(700, 0)  # fits now; the settled entry still leaves at its own time
    clock.advance(30.001)
    assert limiter.usage() == WindowUsage(requests=1, tokens=700)


def test_settling_an_entry_that_left_the_window_puts_nothing_back(make_limiter, clock):
    limiter = make_limiter(tpm=1_000)
    reservation = limiter.reserve(900, 0)
    clock.advance(61)
    limiter.reserve(100, 0)  # trims the window

    limiter.settle(reservation, 300)

    assert limiter.usage() == WindowUsage(requests=1, tokens=100)


def test_tokens_wait_until_enough_entries_left(make_limiter, clock):
    limiter = make_limiter(tpm=1_000)
    for _ in range(3):
        limiter.acquire(300, 0)
        clock.advance(10)
    # t=30, 900 used: 700 more need the entries of t=0 and t=10 gone, at t=70.
    assert limiter.acquire(700, 60) == pytest.approx(40, abs=0.01)
    assert limiter.usage() == WindowUsage(requests=2, tokens=1_000)


def test_a_request_larger_than_the_budget_is_refused_at_once(make_limiter, clock):
    limiter = make_limiter(tpm=6_000)
    with pytest.raises(RequestTooLarge) as refused:
        limiter.acquire(6_001, max_wait_seconds=3_600)
    assert refused.value.tokens == 6_001
    assert "6000" in str(refused.value)
    assert clock.sleeps == []
    assert limiter.usage() == WindowUsage(0, 0)
    assert limiter.acquire(6_000, 0) == 0


def test_a_refused_acquire_spends_nothing(make_limiter):
    limiter = make_limiter(rpm=1)
    limiter.acquire(5, 0)
    for _ in range(3):
        with pytest.raises(RateLimitWait):
            limiter.acquire(5, 0)
    assert limiter.usage() == WindowUsage(requests=1, tokens=5)


def test_limiters_with_the_same_prefix_share_the_budgets(make_limiter):
    worker_a = make_limiter(rpm=2, prefix="groq:ratelimit:shared")
    worker_b = make_limiter(rpm=2, prefix="groq:ratelimit:shared")
    other_model = make_limiter(rpm=2, prefix="groq:ratelimit:other")
    worker_a.acquire(1, 0)
    worker_b.acquire(1, 0)
    with pytest.raises(RateLimitWait):
        worker_a.acquire(1, 0)
    with pytest.raises(RateLimitWait):
        worker_b.acquire(1, 0)
    assert other_model.acquire(1, 0) == 0


def test_for_model_namespaces_the_keys(redis_client, clock):
    limiter = SharedRateLimiter.for_model(
        redis_client, "llama-3.1-8b-instant", requests_per_minute=5, tokens_per_minute=100, clock=clock
    )
    assert limiter.prefix == "groq:ratelimit:llama-3.1-8b-instant"
    limiter.acquire(10, 0)
    keys = {k.decode() for k in redis_client.keys("groq:ratelimit:*")}
    assert keys == {
        "groq:ratelimit:llama-3.1-8b-instant:requests",
        "groq:ratelimit:llama-3.1-8b-instant:tokens",
    }
    for key in keys:
        assert 0 < redis_client.pttl(key) <= 61_000  # the windows clean themselves up


def test_observe_holds_calls_when_groq_has_no_tokens_left(make_limiter, clock):
    limiter = make_limiter(tpm=6_000)
    limiter.observe(RateLimitState(remaining_tokens=0, reset_tokens_seconds=7.66))
    assert limiter.acquire(100, max_wait_seconds=10) == pytest.approx(7.66, abs=0.01)


def test_observe_tightens_the_window_to_what_groq_has_left(make_limiter, clock):
    limiter = make_limiter(tpm=6_000)
    limiter.acquire(1_000, 0)  # we think 5,000 are left
    limiter.observe(RateLimitState(remaining_tokens=300, reset_tokens_seconds=20))
    assert limiter.acquire(300, 0) == 0  # what Groq has left passes
    with pytest.raises(RateLimitWait) as refused:
        limiter.acquire(1, 0)
    assert refused.value.needed_seconds == pytest.approx(20)
    clock.advance(20.01)
    assert limiter.acquire(4_000, 0) == 0  # Groq's reset came: our own window again


def test_observe_holds_requests_past_the_wait_allowed(make_limiter):
    limiter = make_limiter(rpm=30)
    limiter.observe(RateLimitState(remaining_requests=0, reset_requests_seconds=179.56))
    with pytest.raises(RateLimitWait) as refused:
        limiter.acquire(10, max_wait_seconds=60)
    assert refused.value.needed_seconds == pytest.approx(179.56)


def test_observe_never_loosens(make_limiter):
    limiter = make_limiter(rpm=2, tpm=1_000)
    limiter.acquire(900, 0)
    before = limiter.usage()
    limiter.observe(RateLimitState(remaining_requests=14_000, remaining_tokens=5_900))
    limiter.observe(RateLimitState())
    assert limiter.usage() == before
    with pytest.raises(RateLimitWait):
        limiter.acquire(200, 0)


def test_observe_is_not_counted_twice_by_workers_seeing_the_same_headers(make_limiter):
    worker_a = make_limiter(tpm=6_000, prefix="shared")
    worker_b = make_limiter(tpm=6_000, prefix="shared")
    state = RateLimitState(remaining_tokens=2_000, reset_tokens_seconds=30)
    worker_a.observe(state)
    worker_b.observe(state)
    assert worker_a.usage().tokens == 4_000


def test_hold_stops_every_limiter_on_the_prefix(make_limiter, clock):
    holder = make_limiter(prefix="held")
    other = make_limiter(prefix="held")
    holder.hold(5)
    holder.hold(2)  # never shortens
    with pytest.raises(RateLimitWait) as refused:
        other.acquire(1, 1)
    assert refused.value.needed_seconds == pytest.approx(5)
    assert other.acquire(1, 10) == pytest.approx(5, abs=0.01)


@pytest.mark.parametrize(("rpm", "tpm", "tokens", "passing"), [(5, 6_000, 100, 5), (100, 6_000, 1_000, 6)])
def test_concurrent_acquires_never_exceed_the_budget(make_limiter, rpm, tpm, tokens, passing):
    limiter = make_limiter(rpm=rpm, tpm=tpm, prefix="race", clock=lambda: START)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            limiter.acquire(tokens, 0)
            outcome = "passed"
        except RateLimitWait:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert outcomes.count("passed") == passing
    assert outcomes.count("refused") == 20 - passing
    assert limiter.usage() == WindowUsage(requests=passing, tokens=passing * tokens)


def test_the_real_clock_sleeps(redis_client):
    limiter = SharedRateLimiter(
        redis_client, requests_per_minute=1, tokens_per_minute=100, prefix="real", window_seconds=0.2
    )
    limiter.acquire(1, 0)
    started = time.monotonic()
    waited = limiter.acquire(1, max_wait_seconds=1)
    assert 0.15 <= waited <= 0.5
    assert 0.15 <= time.monotonic() - started <= 0.6


@pytest.mark.parametrize(
    "sizes", [{"requests_per_minute": 0, "tokens_per_minute": 10}, {"window_seconds": 0}]
)
def test_unusable_sizes_are_refused(redis_client, sizes):
    options = {"requests_per_minute": 1, "tokens_per_minute": 1} | sizes
    with pytest.raises(ValueError, match=r"at least 1|longer than 0"):
        SharedRateLimiter(redis_client, **options)

"""One account's pace, shared by every worker process through Redis (GCRA)."""

from __future__ import annotations

import pytest

from services.publishing.clients.shared_pacing import SharedRateLimiter


def test_two_processes_share_one_accounts_pace(redis_client):
    waits: list[float] = []
    clock = [1_000.0]  # the same instant for every request: each reserves the next slot
    make = lambda: SharedRateLimiter(  # noqa: E731 - two "processes" of one account
        redis_client, "amazon:A2SELLER", 5.0, burst=5, clock=lambda: clock[0], sleep=waits.append
    )
    first, second = make(), make()

    for n in range(20):
        (first if n % 2 else second).wait()

    # 5 at once (the burst: no sleep), then one every 0.2 s, whichever process asks.
    assert [round(w, 6) for w in waits] == [round(0.2 * k, 6) for k in range(1, 16)]


def test_accounts_do_not_share_a_pace(redis_client):
    waits: list[float] = []
    for account in ("kaufland:one", "kaufland:two"):
        limiter = SharedRateLimiter(redis_client, account, 1.0, clock=lambda: 50.0, sleep=waits.append)
        limiter.wait()
    assert waits == []


def test_the_pace_follows_the_clock(redis_client):
    waits: list[float] = []
    now = [10.0]
    limiter = SharedRateLimiter(redis_client, "ebay:x", 2.0, clock=lambda: now[0], sleep=waits.append)
    limiter.wait()
    now[0] += 5  # long after: the slot is free again
    limiter.wait()
    assert waits == []


def test_a_rate_must_be_positive(redis_client):
    with pytest.raises(ValueError, match="above 0"):
        SharedRateLimiter(redis_client, "x", 0)

"""One marketplace account's request rate, shared by every worker process and thread through Redis.

Each worker process has its own clients; with a limiter per process, two processes would send twice
the rate a marketplace allows and spend their time in 429s. This limiter keeps the account's pace in
Redis with GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp): a request is
due at the account's "theoretical arrival time" less the burst's tolerance; each request reserves
the next slot, one interval later, in one atomic script. A caller sleeps until its slot, so requests
from every process go out in order, at `per_second` on average with bursts of `burst`.

Times are wall-clock seconds from the injected `clock`, passed to the script, so the processes
sharing an account need roughly synchronized clocks (NTP), as they do anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis import Redis

PREFIX = "marketplace:pace"

# KEYS[1]: the account's theoretical arrival time. ARGV: now, interval (1 / rate), burst.
# Returns the seconds the caller waits for its slot (0: now).
_RESERVE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local due = tat - (burst - 1) * interval
if due < now then due = now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', next_tat), 'PX', math.ceil((next_tat - now) * 1000) + 1000)
return tostring(due - now)
"""


class SharedRateLimiter:
    """The pace of one account (`name`, e.g. "amazon:A2SELLER"), shared through `redis`."""

    def __init__(
        self,
        redis: Redis,
        name: str,
        per_second: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("the rate must be above 0 and the burst at least 1")
        self.per_second, self.burst = per_second, burst
        self._key = f"{PREFIX}:{name}"
        self._clock, self._sleep = clock, sleep
        self._reserve = redis.register_script(_RESERVE)

    def wait(self) -> None:
        """Sleep until this request's slot."""
        wait = float(
            self._reserve(keys=[self._key], args=[repr(self._clock()), repr(1 / self.per_second), self.burst])
        )
        if wait > 0:
            self._sleep(wait)

"""Groq's per-minute budgets (requests and tokens), shared by every worker process through Redis.

Each budget is a sliding window: a sorted set of `<id>:<amount>` entries scored by the time they were
spent, trimmed to the last `window_seconds`. One Lua script checks both budgets and, only when both
allow, records the request in both: the check and the spending are one atomic step, so any number of
processes and threads never spend more than the budget within a window.

Groq has the last word: `observe()` takes what its `x-ratelimit-*` headers said after a call. When
Groq has fewer requests or tokens left than our window thinks (another client on the same key, its
daily request limit), the window is tightened to Groq's figure until Groq's reset time, by a "debt"
entry that expires then. `hold()` stops every call until a moment (after a 429's `retry-after`),
through a shared "blocked until" key.

Times are wall-clock seconds from the injected `clock` (default `time.time`), passed to the script,
so the processes sharing a window need roughly synchronized clocks (NTP) - as they do anyway.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.ai.chat import RateLimitState

if TYPE_CHECKING:
    from redis import Redis

DEFAULT_PREFIX = "groq:ratelimit"
# Slept on top of the wait the script computed, so the entry blocking us has surely left the window.
_WAKE_MARGIN_SECONDS = 0.001

_LUA_HELPERS = """
local function amount_of(member)
  return tonumber(string.match(member, ':([%d%.]+)$')) or 0
end

-- Trim a window to its live entries; returns them (member, score, ...) and the amount they hold.
local function live(key, now, window)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local used = 0
  for j = 1, #entries, 2 do
    used = used + amount_of(entries[j])
  end
  return entries, used
end

-- Keep a window key until its newest entry leaves the window (debt entries may lie in the future).
local function refresh_ttl(key, now, window)
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if newest[2] then
    local ttl = math.ceil((tonumber(newest[2]) + window - now) * 1000) + 1000
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
  end
end
"""

# KEYS: requests window, tokens window, blocked-until.
# ARGV: now, window, requests limit, tokens limit, tokens wanted, unique id.
# Returns "0" when the request was recorded, else the seconds to wait before it could be (a string:
# Redis would truncate a Lua number to an integer).
_ACQUIRE = (
    _LUA_HELPERS
    + """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limits = {tonumber(ARGV[3]), tonumber(ARGV[4])}
local wanted = {1, tonumber(ARGV[5])}

local wait = 0
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
if blocked > now then wait = blocked - now end

for i = 1, 2 do
  local entries, used = live(KEYS[i], now, window)
  local excess = used + wanted[i] - limits[i]
  if excess > 0 then
    -- The oldest entries leave first: wait until enough of them have left.
    local freed = 0
    for j = 1, #entries, 2 do
      freed = freed + amount_of(entries[j])
      if freed >= excess then
        local w = tonumber(entries[j + 1]) + window - now
        if w > wait then wait = w end
        break
      end
    end
  end
end

if wait > 0 then return tostring(wait) end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[6] .. ':' .. wanted[i])
  refresh_ttl(KEYS[i], now, window)
end
return '0'
"""
)

# KEYS: requests window, tokens window.
# ARGV: now, window, requests limit, tokens limit, then per budget Groq's remaining and seconds to its
# reset ("" when not known), then a unique id. Returns how much debt was added to each budget.
_OBSERVE = (
    _LUA_HELPERS
    + """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limits = {tonumber(ARGV[3]), tonumber(ARGV[4])}
local remaining = {tonumber(ARGV[5]), tonumber(ARGV[7])}
local resets = {tonumber(ARGV[6]), tonumber(ARGV[8])}
local added = {0, 0}

for i = 1, 2 do
  if remaining[i] then
    local _, used = live(KEYS[i], now, window)
    local ours = limits[i] - used
    local theirs = math.max(remaining[i], 0)
    if theirs < ours then
      local reset = resets[i] or window
      if reset < 0 then reset = 0 end
      -- An entry scored reset - window from now leaves the window exactly at Groq's reset.
      local debt = math.ceil(ours - theirs)
      redis.call('ZADD', KEYS[i], now + reset - window, ARGV[9] .. ':debt:' .. debt)
      refresh_ttl(KEYS[i], now, window)
      added[i] = debt
    end
  end
end
return added
"""
)

# KEYS: blocked-until. ARGV: until (absolute), now. Only ever moves the moment later.
_HOLD = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local target = tonumber(ARGV[1])
if target > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.ceil((target - tonumber(ARGV[2])) * 1000) + 1000)
end
return tostring(math.max(target, current))
"""

# KEYS: tokens window. ARGV: the reservation's member, the member with the tokens used. The entry
# keeps its time; one that has left the window already is not put back.
_SETTLE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], score, ARGV[2])
return 1
"""

# KEYS: requests window, tokens window. ARGV: now, window.
_USAGE = (
    _LUA_HELPERS
    + """
local _, requests = live(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
local _, tokens = live(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]))
return {tostring(requests), tostring(tokens)}
"""
)


class RateLimitWait(Exception):
    """The budgets would not allow the call within the wait allowed.

    `needed_seconds`: how long from now the call would still have to wait (as far as known now)."""

    def __init__(self, needed_seconds: float, message: str | None = None) -> None:
        super().__init__(message or f"rate limited: would have to wait {needed_seconds:.1f} s more")
        self.needed_seconds = needed_seconds


class RequestTooLarge(RateLimitWait):
    """One request needs more tokens than the whole per-minute budget: it can never pass."""

    def __init__(self, tokens: int, tokens_per_minute: int) -> None:
        super().__init__(
            math.inf, f"the request needs about {tokens} tokens, more than the {tokens_per_minute} a minute"
        )
        self.tokens = tokens
        self.tokens_per_minute = tokens_per_minute


@dataclass(frozen=True, slots=True)
class Reservation:
    """What `reserve()` spent: settle it with the tokens the call used once they are known."""

    member: str
    tokens: int
    waited_seconds: float


@dataclass(frozen=True, slots=True)
class WindowUsage:
    """What the live window holds now (debts from `observe()` included)."""

    requests: int
    tokens: int


class SharedRateLimiter:
    """Requests-per-minute and tokens-per-minute budgets in Redis, under `prefix`.

    Every limiter built with the same Redis and prefix shares the budgets: give each model (Groq
    limits models separately) its own prefix, e.g. with `SharedRateLimiter.for_model`.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        requests_per_minute: int,
        tokens_per_minute: int,
        prefix: str = DEFAULT_PREFIX,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_minute < 1 or tokens_per_minute < 1:
            raise ValueError("the requests and tokens per minute must be at least 1")
        if window_seconds <= 0:
            raise ValueError("the window must be longer than 0 s")
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.prefix = prefix
        self.window_seconds = window_seconds
        self._redis = redis
        self._clock = clock
        self._sleep = sleep
        self._requests_key = f"{prefix}:requests"
        self._tokens_key = f"{prefix}:tokens"
        self._blocked_key = f"{prefix}:blocked-until"
        self._acquire = redis.register_script(_ACQUIRE)
        self._observe = redis.register_script(_OBSERVE)
        self._hold = redis.register_script(_HOLD)
        self._usage = redis.register_script(_USAGE)
        self._settle = redis.register_script(_SETTLE)

    @classmethod
    def for_model(
        cls,
        redis: Redis,
        model: str,
        *,
        requests_per_minute: int,
        tokens_per_minute: int,
        **options: Any,
    ) -> SharedRateLimiter:
        """The budgets of one Groq model, under `groq:ratelimit:<model>`."""
        return cls(
            redis,
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            prefix=f"{DEFAULT_PREFIX}:{model}",
            **options,
        )

    def acquire(self, tokens: int, max_wait_seconds: float) -> float:
        """`reserve()`, returning the seconds waited."""
        return self.reserve(tokens, max_wait_seconds).waited_seconds

    def reserve(self, tokens: int, max_wait_seconds: float) -> Reservation:
        """Wait until one request of `tokens` tokens fits both budgets, and spend it.

        Raises RateLimitWait (at once, without sleeping in vain) when it would have to wait longer
        than `max_wait_seconds` in all, RequestTooLarge when `tokens` exceeds the whole per-minute
        budget.
        """
        tokens = max(int(tokens), 0)
        if tokens > self.tokens_per_minute:
            raise RequestTooLarge(tokens, self.tokens_per_minute)
        start = self._clock()
        member = uuid.uuid4().hex
        while True:
            now = self._clock()
            wait = float(
                self._acquire(
                    keys=[self._requests_key, self._tokens_key, self._blocked_key],
                    args=[
                        repr(now),
                        repr(self.window_seconds),
                        self.requests_per_minute,
                        self.tokens_per_minute,
                        tokens,
                        member,
                    ],
                )
            )
            waited = now - start
            if wait <= 0:
                return Reservation(f"{member}:{tokens}", tokens, waited)
            if waited + wait > max_wait_seconds:
                raise RateLimitWait(wait)
            self._sleep(wait + _WAKE_MARGIN_SECONDS)

    def settle(self, reservation: Reservation, tokens_used: int) -> None:
        """The call reserved for spent `tokens_used`, not the tokens reserved (a call reserves every
        token its answer may take, and most answers are shorter): the difference is free again."""
        used = max(int(tokens_used), 0)
        if used == reservation.tokens:
            return
        member = reservation.member.rpartition(":")[0]
        self._settle(keys=[self._tokens_key], args=[reservation.member, f"{member}:{used}"])

    def observe(self, state: RateLimitState) -> None:
        """Tighten the budgets to what Groq said is left, until Groq's reset.

        Only ever tightens: when Groq has more left than our window thinks, the window stays as is.
        """
        if state.remaining_requests is None and state.remaining_tokens is None:
            return
        self._observe(
            keys=[self._requests_key, self._tokens_key],
            args=[
                repr(self._clock()),
                repr(self.window_seconds),
                self.requests_per_minute,
                self.tokens_per_minute,
                _optional(state.remaining_requests),
                _optional(state.reset_requests_seconds),
                _optional(state.remaining_tokens),
                _optional(state.reset_tokens_seconds),
                uuid.uuid4().hex,
            ],
        )

    def hold(self, seconds: float) -> None:
        """No call passes `acquire()` for `seconds` from now (never shortens a hold already set)."""
        if seconds <= 0:
            return
        now = self._clock()
        self._hold(keys=[self._blocked_key], args=[repr(now + seconds), repr(now)])

    def usage(self) -> WindowUsage:
        """What the live window holds now."""
        requests, tokens = self._usage(
            keys=[self._requests_key, self._tokens_key], args=[repr(self._clock()), repr(self.window_seconds)]
        )
        return WindowUsage(requests=int(float(requests)), tokens=int(float(tokens)))


def _optional(value: float | None) -> str:
    return "" if value is None else repr(float(value))

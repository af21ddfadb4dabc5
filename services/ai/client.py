"""The ChatModel that talks to Groq over HTTP with the official `groq` SDK.

This class decides about retries (the SDK's own are off by default), within one time budget per call,
`max_wait_seconds`, counted from the moment `complete_json` is called:

* Before each attempt, the shared limiter (if any) is asked for one request and the estimated tokens
  (message characters / 4 + max_tokens), waiting at most what is left of the budget; after each answer
  the reservation is settled to the tokens the answer's usage says were spent (the rest is free for
  the next call), and the limiter is told what Groq's `x-ratelimit-*` headers said.
* 429: wait Groq's `retry-after` and try again; not a failure. When the wait does not fit in what is
  left of the budget: ChatUnavailable at once, with `retry_after_seconds`.
* 5xx, 408, timeouts, no connection: up to three attempts, 0.5 s and 1 s apart, while the budget lasts.
  An attempt once started gets its whole `timeout_seconds`, so one call ends within
  `max_wait_seconds + timeout_seconds` at worst.
* 401 / 403 / 400 and other refusals: ChatUnavailable at once, naming the reason.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import groq
from groq import Groq

from services.ai.chat import ChatMessage, ChatResult, ChatUnavailable, RateLimitState
from services.ai.limiter import RateLimitWait, RequestTooLarge, Reservation, SharedRateLimiter

if TYPE_CHECKING:
    from groq.types.chat import ChatCompletionMessageParam

MAX_ATTEMPTS = 3  # attempts that fail with 5xx / timeouts / no connection; 429s do not count
BACKOFF_SECONDS = (0.5, 1.0, 2.0)
DEFAULT_RETRY_AFTER_SECONDS = 1.0  # a 429 that says neither retry-after nor a reset time
CHARS_PER_TOKEN = 4

_TIMES = {1: "once", 2: "twice", 3: "three times"}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|μs|ns)")
_DURATION_UNITS = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ns": 1e-9,
}


def parse_groq_duration(text: str | None) -> float | None:
    """Seconds in a duration as Groq sends it (Go's format: "2m59.56s", "7.66s", "450ms", "1h2m3s"),
    or a bare number of seconds ("2.5"). None when absent or not a duration."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return total if position == len(text) else None


def parse_rate_limit_headers(headers: Mapping[str, str]) -> RateLimitState:
    """Groq's `x-ratelimit-*` headers (None for each one absent or unreadable)."""
    return RateLimitState(
        remaining_requests=_int_header(headers.get("x-ratelimit-remaining-requests")),
        remaining_tokens=_int_header(headers.get("x-ratelimit-remaining-tokens")),
        reset_requests_seconds=parse_groq_duration(headers.get("x-ratelimit-reset-requests")),
        reset_tokens_seconds=parse_groq_duration(headers.get("x-ratelimit-reset-tokens")),
    )


def retry_after_seconds(headers: Mapping[str, str], *, now: Callable[[], datetime] | None = None) -> float:
    """How long a 429 asks to wait: `retry-after` (seconds or an HTTP date), else the later of Groq's
    reset times, else a default second."""
    value = headers.get("retry-after")
    if value:
        seconds = parse_groq_duration(value)
        if seconds is not None:
            return seconds
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            current = now() if now else datetime.now(UTC)
            return max((when - current).total_seconds(), 0.0)
    state = parse_rate_limit_headers(headers)
    resets = [s for s in (state.reset_requests_seconds, state.reset_tokens_seconds) if s is not None]
    return max(resets) if resets else DEFAULT_RETRY_AFTER_SECONDS


def estimate_tokens(messages: Sequence[ChatMessage], max_tokens: int) -> int:
    """What one call may spend: the prompt's characters / 4, plus every token the answer may take."""
    return math.ceil(sum(len(m.content) for m in messages) / CHARS_PER_TOKEN) + max_tokens


class GroqChatModel:
    """`ChatModel` over Groq's chat completions, answering JSON objects."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout_seconds: float = 30,
        max_wait_seconds: float = 60,
        limiter: SharedRateLimiter | None = None,
        sdk_max_retries: int = 0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.max_wait_seconds = max_wait_seconds
        self.limiter = limiter
        self._sleep = sleep
        self._clock = clock
        self._client = Groq(
            api_key=api_key, base_url=base_url, max_retries=sdk_max_retries, timeout=timeout_seconds
        )

    def close(self) -> None:
        self._client.close()

    def complete_json(
        self, messages: Sequence[ChatMessage], *, model: str, max_tokens: int, temperature: float = 0.2
    ) -> ChatResult:
        """One JSON answer; raises ChatUnavailable when none came within the budget."""
        deadline = self._clock() + self.max_wait_seconds
        estimate = estimate_tokens(messages, max_tokens)
        payload = [_message_param(m) for m in messages]
        failures: list[str] = []  # what each failed attempt (5xx, timeout, connection) ran into

        while True:
            reservation = self._acquire(estimate, deadline)
            try:
                raw = self._client.chat.completions.with_raw_response.create(
                    model=model,
                    messages=payload,
                    response_format={"type": "json_object"},
                    max_tokens=max_tokens,
                    temperature=temperature,
                )
            except groq.RateLimitError as exc:
                self._observe(parse_rate_limit_headers(exc.response.headers))
                wait = retry_after_seconds(exc.response.headers)
                if self.limiter:  # every worker holds off, not only this one
                    self.limiter.hold(wait)
                if wait > deadline - self._clock():
                    raise ChatUnavailable(
                        f"rate limited for longer than {self.max_wait_seconds:g} s", retry_after_seconds=wait
                    ) from exc
                self._sleep(wait)
                continue
            except groq.APIStatusError as exc:
                self._observe(parse_rate_limit_headers(exc.response.headers))
                if exc.status_code < 500 and exc.status_code != 408:
                    raise ChatUnavailable(_refusal(exc)) from exc
                failures.append(f"Groq answered {exc.status_code}")
                self._back_off(failures, deadline, exc)
                continue
            except groq.APITimeoutError as exc:
                failures.append(f"no answer within {self.timeout_seconds:g} s")
                self._back_off(failures, deadline, exc)
                continue
            except groq.APIConnectionError as exc:
                failures.append(f"could not reach Groq ({_cause(exc)})")
                self._back_off(failures, deadline, exc)
                continue

            completion = raw.parse()
            content = completion.choices[0].message.content if completion.choices else None
            usage = completion.usage
            if self.limiter is not None and reservation is not None and usage is not None:
                self.limiter.settle(reservation, usage.total_tokens)
            state = parse_rate_limit_headers(raw.headers)
            self._observe(state)
            return ChatResult(
                content=content or "",
                model=completion.model or model,
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                rate_limit=state,
            )

    def _acquire(self, estimate: int, deadline: float) -> Reservation | None:
        if self.limiter is None:
            return None
        try:
            return self.limiter.reserve(estimate, max(deadline - self._clock(), 0.0))
        except RequestTooLarge as exc:
            raise ChatUnavailable(str(exc)) from exc
        except RateLimitWait as exc:
            raise ChatUnavailable(
                f"rate limited for longer than {self.max_wait_seconds:g} s",
                retry_after_seconds=exc.needed_seconds,
            ) from exc

    def _observe(self, state: RateLimitState) -> None:
        if self.limiter is not None:
            self.limiter.observe(state)

    def _back_off(self, failures: list[str], deadline: float, exc: Exception) -> None:
        """Sleep before the next attempt, or raise ChatUnavailable when there is none."""
        if len(failures) < MAX_ATTEMPTS:
            pause = BACKOFF_SECONDS[min(len(failures), len(BACKOFF_SECONDS)) - 1]
            if self._clock() + pause <= deadline:
                self._sleep(pause)
                return
        raise ChatUnavailable(_summary(failures)) from exc


def _message_param(message: ChatMessage) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _summary(failures: list[str]) -> str:
    """'Groq answered 500 three times', 'no answer within 30 s', ...: the last kind of failure, and how
    often it happened."""
    last = failures[-1]
    count = failures.count(last)
    return last if count == 1 else f"{last} {_TIMES.get(count, f'{count} times')}"


def _refusal(exc: groq.APIStatusError) -> str:
    if exc.status_code == 401:
        return "Groq refused the API key"
    if exc.status_code == 403:
        return f"Groq refused access ({_error_message(exc)})"
    return f"Groq refused the request ({exc.status_code}: {_error_message(exc)})"


def _error_message(exc: groq.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return exc.message[:300]


def _cause(exc: groq.APIConnectionError) -> str:
    cause = exc.__cause__
    return f"{type(cause).__name__}: {cause}"[:200] if cause else exc.message


def _int_header(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return int(number) if math.isfinite(number) else None

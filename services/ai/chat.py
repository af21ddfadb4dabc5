"""What the AI copywriter needs from a chat model, and what it gets back: the seam between the pure
copy logic (prompts, checks, grounding) and the Groq client that talks HTTP.

The copywriter depends on `ChatModel` only, so it is tested with a scripted fake and runs in the
stage with `services.ai.client.GroqChatModel` against Groq (or the test's fake Groq server).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """What Groq's `x-ratelimit-*` headers said after a call (None: not sent)."""

    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests_seconds: float | None = None
    reset_tokens_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class ChatResult:
    content: str  # the model's answer, JSON text when JSON was asked for
    model: str
    prompt_tokens: int
    completion_tokens: int
    rate_limit: RateLimitState = field(default_factory=RateLimitState)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChatUnavailable(Exception):
    """The model could not answer in time (rate limited past the wait allowed, server errors, a
    timeout, no connection). `reason` says which, for the product's `ai_status` reason."""

    def __init__(self, reason: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


class ChatModel(Protocol):
    """One chat completion that answers a JSON object (`response_format={"type": "json_object"}`)."""

    def complete_json(
        self, messages: Sequence[ChatMessage], *, model: str, max_tokens: int, temperature: float = 0.2
    ) -> ChatResult:
        """Raises ChatUnavailable when no answer came."""
        ...

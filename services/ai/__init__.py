"""AI listing copy: prompts, checks and grounding are pure; the chat model is a seam (`chat.ChatModel`),
the Groq SDK behind it (client, limiter, factory). Imports normalize, marketplaces and the platform;
the optimize stage and the on-demand copy (services.pipeline) use it.

Each module's docstring states its rules: prompts (instructions apart from the untrusted data, injection
text stripped), checks (reading and checking the model's answer, its language included), grounding
(the facts of the copy against the source's, translation-free, and the −1…+1 score),
copywriter (ask, check, one repair, fallback), batch (several products of one marketplace per request,
each checked and repaired on its own).
"""

from services.ai.batch import CopyRequest, build_batch_messages, split_batch_answer, write_batch
from services.ai.chat import ChatMessage, ChatModel, ChatResult, ChatUnavailable, RateLimitState
from services.ai.checks import AiCopy, check_copy, html_text, language_problem, parse_copy
from services.ai.copywriter import CopyResult, Copywriter, Review, review_answer
from services.ai.grounding import Grounding, grounding_problem, grounding_score
from services.ai.prompts import (
    PROMPT_VERSION,
    SourceProduct,
    SourceSpec,
    build_messages,
    find_injections,
    strip_injections,
)

__all__ = [
    "PROMPT_VERSION",
    "AiCopy",
    "ChatMessage",
    "ChatModel",
    "ChatResult",
    "ChatUnavailable",
    "CopyRequest",
    "CopyResult",
    "Copywriter",
    "Grounding",
    "RateLimitState",
    "Review",
    "SourceProduct",
    "SourceSpec",
    "build_batch_messages",
    "build_messages",
    "check_copy",
    "find_injections",
    "grounding_problem",
    "grounding_score",
    "html_text",
    "language_problem",
    "parse_copy",
    "review_answer",
    "split_batch_answer",
    "strip_injections",
    "write_batch",
]

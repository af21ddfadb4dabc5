"""Listing copy for several products of one marketplace in one request. Pure: the model is the
Copywriter's (`ChatModel`), so this module does no I/O itself.

The system message (every rule, some 450 tokens) is the same for every product of a marketplace, so N
products in one request send it once instead of N times.

Rules:

* Messages (`build_batch_messages`): instructions and data stay apart as in `prompts` (module
  docstring). The system message holds the same rules as a single product's (`prompts.rule_lines`),
  says that each product's copy uses only that product's data, and asks for
  {"items": [{"id", "title", "description_html"}, ...]}, one item per product with its id; it holds no
  product text and no id. The user message is ONE JSON object {"products": [{"id", ...DATA}, ...]}
  between the DATA markers, each product's DATA as `prompts.prompt_data` writes it (injection text
  stripped, bounded), every "<" escaped.
* Reading the answer (`split_batch_answer`): per id, the item as a single product's answer (its JSON
  without "id", for `copywriter.review_answer`), or the problems: the answer is not JSON, has no
  "items" list, has no item with the id, or more than one. An id may come back as a number ("7" and 7
  are one id); items with ids not asked for are ignored.
* Writing (`write_batch`): ONE request for all the products, with the answer's token limit of one
  product times N. Each item is reviewed like a single product's answer (`review_answer`, with the
  copywriter's languages and language detector: an item in the wrong language is refused); one that
  passes is "optimized" copy exactly as `Copywriter.write` returns it. An item with problems takes the
  single product's repair path: ONE repair request (`prompts.build_messages` with its problems and its
  item as the previous answer; no previous answer when there was no item of its own), reviewed the
  same way; still problems: the fallback copy, reason "model output failed checks after a repair: …".
  `ChatUnavailable` on the batch request: every product falls back, "AI unavailable: …", without
  asking again one by one (the model is down or rate limited: N more requests would not help); on a
  repair: that product falls back. A batch of one is `Copywriter.write`.
* Tokens: the batch request's prompt and completion tokens are shared out evenly over its products,
  the remainder one each to the first ones (the sums over the products are what the model reported),
  plus each product's own repair. `attempts` counts the requests the product took part in: 1 or 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.ai.chat import ChatMessage, ChatResult, ChatUnavailable
from services.ai.copywriter import CopyResult, Copywriter, Review, review_answer
from services.ai.prompts import (
    DATA_END,
    DATA_START,
    SourceProduct,
    build_messages,
    data_block,
    prompt_data,
    rule_lines,
)
from services.marketplaces import BUILT_IN_LANGUAGES, Languages, rules_for
from services.normalize.descriptions import clean_description

_FENCE_RE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)  # as parse_copy's


@dataclass(frozen=True, slots=True)
class CopyRequest:
    """One product of a batch: its id (unique in the batch), its facts and its deterministic copy."""

    id: str
    source: SourceProduct
    fallback_title: str
    fallback_description_html: str


def build_batch_messages(
    sources: Sequence[tuple[str, SourceProduct]], marketplace: str, languages: Languages = BUILT_IN_LANGUAGES
) -> list[ChatMessage]:
    """The system message (instructions) and the user message (every product's DATA with its id).
    KeyError for an unknown marketplace."""
    rules = rules_for(marketplace, languages)
    system = [
        f"You write the listing copy of several products for the marketplace {rules.name} "
        f"({rules.marketplace}), each product on its own.",
        *rule_lines(rules),
        "- Each product's copy uses only that product's DATA: never carry a fact from one product to "
        "another.",
        f'- The DATA comes in the user message, as one JSON object {{"products": [...]}} between '
        f'{DATA_START} and {DATA_END}; each product has its "id".',
        "",
        'Answer ONLY a JSON object {"items": [{"id": str, "title": str, "description_html": str}, ...]} '
        'with one item per product, in the order of the DATA, each with its product\'s "id"; no other '
        "keys and no text before or after it.",
    ]
    products = [{"id": product_id, **prompt_data(source)} for product_id, source in sources]
    return [
        ChatMessage("system", "\n".join(system)),
        ChatMessage("user", data_block({"products": products})),
    ]


def split_batch_answer(content: str, ids: Sequence[str]) -> dict[str, str | list[str]]:
    """Per id, its item's JSON text {"title", "description_html"} (without "id"), or its problems."""
    text = content.strip()
    if fenced := _FENCE_RE.match(text):
        text = fenced[1]
    if not text:
        return _for_each(ids, "the answer is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return _for_each(ids, f"the answer is not valid JSON ({exc.msg} at character {exc.pos})")
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return _for_each(ids, 'the answer is not a JSON object with an "items" list')

    found: dict[str, list[dict[str, Any]]] = {product_id: [] for product_id in ids}
    for item in items:
        if isinstance(item, dict) and (key := _item_id(item)) in found:
            found[key].append(item)
    split: dict[str, str | list[str]] = {}
    for product_id, matches in found.items():
        if len(matches) == 1:
            copy = {key: value for key, value in matches[0].items() if key != "id"}
            split[product_id] = json.dumps(copy, ensure_ascii=False)
        elif not matches:
            split[product_id] = ["the answer has no item for this product"]
        else:
            split[product_id] = [f"the answer has {len(matches)} items for this product, not one"]
    return split


def write_batch(
    copywriter: Copywriter, requests: Sequence[CopyRequest], marketplace: str
) -> list[CopyResult]:
    """The products' copy, in the order of `requests` (module docstring). Nothing is raised for the
    model's sake; KeyError for an unknown marketplace and ValueError for a repeated id, before any
    request."""
    rules_for(marketplace)
    ids = [request.id for request in requests]
    if len(set(ids)) != len(ids):
        raise ValueError(f"ids repeat in the batch: {sorted({i for i in ids if ids.count(i) > 1})}")
    if len(requests) <= 1:  # one product: the single product's prompt is the shorter one
        return [
            copywriter.write(
                request.source,
                marketplace,
                fallback_title=request.fallback_title,
                fallback_description_html=request.fallback_description_html,
            )
            for request in requests
        ]

    sources = [(request.id, request.source) for request in requests]
    messages = build_batch_messages(sources, marketplace, copywriter.languages)
    count = len(requests)
    try:
        answer = copywriter.model.complete_json(
            messages, model=copywriter.model_name, max_tokens=copywriter.max_tokens * count
        )
    except ChatUnavailable as exc:
        reason, wait = f"AI unavailable: {exc.reason}", exc.retry_after_seconds
        return [_Item(copywriter, request).fallback(reason, retry_after=wait) for request in requests]

    parts = split_batch_answer(answer.content, ids)
    results = []
    for position, request in enumerate(requests):
        item = _Item(copywriter, request)
        item.add(
            answer,
            prompt_tokens=_share(answer.prompt_tokens, count, position),
            completion_tokens=_share(answer.completion_tokens, count, position),
        )
        results.append(item.finish(parts[request.id], marketplace))
    return results


class _Item:
    """One product of a batch on its way to a CopyResult: the requests it took part in and their
    tokens, and the grounding of its last answer that could be read."""

    def __init__(self, copywriter: Copywriter, request: CopyRequest) -> None:
        self.copywriter = copywriter
        self.request = request
        self.attempts = 1  # the batch request
        self.prompt_tokens = self.completion_tokens = 0
        self.model = copywriter.model_name
        self.grounding: float | None = None

    def add(self, answer: ChatResult, *, prompt_tokens: int, completion_tokens: int) -> None:
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.model = answer.model or self.model

    def review(self, content: str, marketplace: str) -> Review:
        copywriter = self.copywriter
        review = review_answer(
            content, self.request.source, marketplace, copywriter.languages, copywriter.detector
        )
        if review.grounding is not None:
            self.grounding = review.grounding.score
        return review

    def finish(self, part: str | list[str], marketplace: str) -> CopyResult:
        """The batch's item reviewed, repaired once if needed (module docstring)."""
        review = self.review(part, marketplace) if isinstance(part, str) else Review(None, part)
        if review.copy is not None and not review.problems:
            return self.optimized(review)
        self.attempts += 1
        source = self.request.source
        previous = part if isinstance(part, str) else None  # no item of its own: nothing to show
        messages = build_messages(
            source,
            marketplace,
            repair=review.problems,
            previous=previous,
            languages=self.copywriter.languages,
        )
        try:
            answer = self.copywriter.model.complete_json(
                messages, model=self.copywriter.model_name, max_tokens=self.copywriter.max_tokens
            )
        except ChatUnavailable as exc:
            return self.fallback(f"AI unavailable: {exc.reason}", retry_after=exc.retry_after_seconds)
        self.add(answer, prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)
        review = self.review(answer.content, marketplace)
        if review.copy is not None and not review.problems:
            return self.optimized(review)
        return self.fallback("model output failed checks after a repair: " + "; ".join(review.problems))

    def optimized(self, review: Review) -> CopyResult:
        assert review.copy is not None
        html = clean_description(review.copy.description_html, brand=self.request.source.brand).html
        return self.result(review.copy.title, html, None)

    def fallback(self, reason: str, *, retry_after: float | None = None) -> CopyResult:
        request = self.request
        return self.result(request.fallback_title, request.fallback_description_html, reason, retry_after)

    def result(
        self, title: str, html: str, reason: str | None, retry_after: float | None = None
    ) -> CopyResult:
        return CopyResult(
            title=title,
            description_html=html,
            ai_status="optimized" if reason is None else "fallback",
            reason=reason,
            grounding=self.grounding,
            attempts=self.attempts,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            model=self.model,
            prompt_version=self.copywriter.prompt_version,
            retry_after_seconds=retry_after,
        )


def _share(total: int, count: int, position: int) -> int:
    """The `position`th of `count` even shares of `total`, the remainder one each to the first ones."""
    return total // count + (1 if position < total % count else 0)


def _for_each(ids: Sequence[str], problem: str) -> dict[str, str | list[str]]:
    return {product_id: [problem] for product_id in ids}


def _item_id(item: dict[str, Any]) -> str | None:
    """The item's id as text; a number is read as its digits ("7" and 7 are one id)."""
    value = item.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None

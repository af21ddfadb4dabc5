"""Write a product's listing copy with a chat model, or fall back to the deterministic copy. Pure: the
model is passed in (`ChatModel`), so this module does no I/O itself.

Rules (`Copywriter.write`):

1. Ask the model (`prompts.build_messages`) for a JSON object {"title", "description_html"}.
2. Review the answer: it must parse (`checks.parse_copy`), pass `checks.check_copy` (its language
   among them: the marketplace's, as the copywriter's `LanguageDetector` tells it) and state no fact
   the source does not (`grounding.grounding_score` over the title and the description's text; any
   ungrounded fact is a problem, `grounding.grounding_problem`). The title is read with its white
   space collapsed first.
3. Problems: ONE repair attempt, with the previous answer and the problems listed (an answer in the
   wrong language is told which language to write in). Still problems: the
   fallback copy (the deterministic title and description passed in), ai_status "fallback", reason
   "model output failed checks after a repair: …" (the second answer's problems).
4. `ChatUnavailable` at any attempt: the fallback copy, reason "AI unavailable: …". Nothing is raised:
   a job never fails because of the model.
5. Copy that passes is returned with ai_status "optimized": its title as checked, and its description as
   the normalize stage's cleaner writes it (the same HTML once the checks passed, in canonical form).

Tokens are summed over every attempt that got an answer. `grounding` is the score of the last answer
that could be read, also when it was refused (None when no answer could be read); `model` is the
model that answered last (the name asked for when none answered).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from services.ai.chat import ChatModel, ChatUnavailable
from services.ai.checks import AiCopy, check_copy, parse_copy
from services.ai.grounding import Grounding, grounding_problem, grounding_score
from services.ai.prompts import PROMPT_VERSION, SourceProduct, build_messages
from services.marketplaces import BUILT_IN_LANGUAGES, Languages, marketplace_languages, rules_for
from services.normalize.descriptions import clean_description
from services.normalize.language import LanguageDetector, detector_for

AiStatus = Literal["optimized", "fallback"]
MAX_ATTEMPTS = 2  # the first answer and one repair


@dataclass(frozen=True, slots=True)
class CopyResult:
    title: str
    description_html: str
    ai_status: AiStatus
    reason: str | None  # why the fallback copy was used; None when optimized
    grounding: float | None
    attempts: int  # requests made: 1 or 2
    prompt_tokens: int
    completion_tokens: int
    model: str
    prompt_version: str
    # The model was unavailable for the account's rate limits: the wait they asked for. A caller that
    # can come back later (the optimize stage) may defer the product rather than keep the fallback.
    retry_after_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Review:
    """One answer, read and checked: the copy (None when it could not be read) and its problems."""

    copy: AiCopy | None
    problems: list[str] = field(default_factory=list)
    grounding: Grounding | None = None


def review_answer(
    content: str,
    source: SourceProduct,
    marketplace: str,
    languages: Languages = BUILT_IN_LANGUAGES,
    detector: LanguageDetector | None = None,
) -> Review:
    """The answer parsed, checked and scored (module docstring, step 2). `detector`: the one that
    tells apart every marketplace's language (default: the process's, `copy_detector(languages)`)."""
    parsed = parse_copy(content)
    if isinstance(parsed, list):
        return Review(None, parsed)
    copy = AiCopy(title=" ".join(parsed.title.split()), description_html=parsed.description_html)
    if detector is None:
        detector = copy_detector(languages)
    problems = check_copy(copy, source, marketplace, languages=languages, detector=detector)
    text = clean_description(copy.description_html, brand=source.brand).text
    grounding = grounding_score(f"{copy.title}\n{text}", source)
    if (problem := grounding_problem(grounding)) is not None:
        problems.append(problem)
    return Review(copy, problems, grounding)


def copy_detector(languages: Languages = BUILT_IN_LANGUAGES) -> LanguageDetector:
    """The process's detector for every marketplace's language as configured (and the guards):
    built on first use, which loads lingua's models (half a second)."""
    return detector_for(marketplace_languages(languages))


class Copywriter:
    """Listing copy from a chat model, checked, with one repair, or the fallback copy."""

    def __init__(
        self,
        model: ChatModel,
        *,
        model_name: str,
        max_tokens: int = 600,
        prompt_version: str = PROMPT_VERSION,
        languages: Languages = BUILT_IN_LANGUAGES,
        detector: LanguageDetector | None = None,
    ) -> None:
        self.prompt_version = prompt_version  # a setting: bumping it has every copy written again
        self.languages = languages  # where MARKETPLACE_LANGUAGES differs from a marketplace's own
        # Tells whether an answer is in its marketplace's language (default: `copy_detector(languages)`).
        self.detector = detector if detector is not None else copy_detector(languages)
        self._model = model
        self._model_name = model_name
        self._max_tokens = max_tokens

    # Read-only, for `batch.write_batch`, which asks the same model with the same settings.
    @property
    def model(self) -> ChatModel:
        return self._model

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def max_tokens(self) -> int:
        """The answer's token limit for one product."""
        return self._max_tokens

    def write(
        self,
        source: SourceProduct,
        marketplace: str,
        *,
        fallback_title: str,
        fallback_description_html: str,
    ) -> CopyResult:
        """The model's copy when it passes the checks, else the fallback copy with the reason."""
        rules_for(marketplace)  # an unknown marketplace is a bug of the caller: KeyError before any request
        prompt_tokens = completion_tokens = 0
        answered_by = self._model_name
        grounding: float | None = None
        problems: list[str] | None = None
        previous: str | None = None
        attempts = 0

        def result(title: str, html: str, status: AiStatus, reason: str | None) -> CopyResult:
            return CopyResult(
                title=title,
                description_html=html,
                ai_status=status,
                reason=reason,
                grounding=grounding,
                attempts=attempts,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                model=answered_by,
                prompt_version=self.prompt_version,
            )

        def fallback(reason: str) -> CopyResult:
            return result(fallback_title, fallback_description_html, "fallback", reason)

        while attempts < MAX_ATTEMPTS:
            attempts += 1
            messages = build_messages(
                source, marketplace, repair=problems, previous=previous, languages=self.languages
            )
            try:
                answer = self._model.complete_json(
                    messages, model=self._model_name, max_tokens=self._max_tokens
                )
            except ChatUnavailable as exc:
                return replace(
                    fallback(f"AI unavailable: {exc.reason}"), retry_after_seconds=exc.retry_after_seconds
                )
            prompt_tokens += answer.prompt_tokens
            completion_tokens += answer.completion_tokens
            answered_by = answer.model or answered_by
            review = review_answer(answer.content, source, marketplace, self.languages, self.detector)
            if review.grounding is not None:
                grounding = review.grounding.score
            if review.copy is not None and not review.problems:
                html = clean_description(review.copy.description_html, brand=source.brand).html
                return result(review.copy.title, html, "optimized", None)
            problems, previous = review.problems, answer.content
        return fallback("model output failed checks after a repair: " + "; ".join(problems or []))

"""Read and check a model's listing copy. Pure: no I/O. Each problem is a sentence a seller (and the
model, in a repair attempt) can act on.

`parse_copy`: the answer must be one JSON object with the text fields "title" and "description_html";
other keys are ignored. A ```json fence around it is tolerated.

`check_copy`, in this order:

1. Title: the marketplace's title rules (`check_title`: length as the marketplace counts it, refused
   characters, repeats, white space, dangling separators), and no shouting: a word of five letters or
   more in capitals, outside tokens with digits and known acronyms, unless the brand is spelled so.
2. Description: not empty (some text once the tags are gone), and only the allowed HTML: the
   description is run through the normalize stage's cleaner (`clean_description`); everything it
   changes is a problem, in its words (tags removed, attributes removed, headings renamed, contact or
   shop lines removed, capitals fixed).
3. Title and description text: no e-mail address, phone number (+48, +49, 0048…, 3-3-3 digit groups,
   digits after "tel."), link (http(s)://, www., a domain ending .pl .de .com .eu .net .org .shop
   .info), instruction-like phrases (`prompts.find_injections`; a role label such as "System:" is
   data in copy, "System: Android 13", and not refused), promotional, shipping or price claims
   (a short list in German, Polish and English, and amounts with a currency: "99,99 €").
4. Language: the title and the description (its text) must be in the marketplace's language
   (`rules_for(marketplace, languages).language`), as the `LanguageDetector` tells it, the brand and
   model left out of the reading. A text detected in another language is refused with a problem that
   names the language asked for and the one found ("the copy must be in German (de); the title and
   the description are in Polish"), so the repair asks for the right one. An undetermined text (too
   few words, names and codes: "Sony WH-1000XM4 ANC") is no verdict and is not refused. Without a
   detector (`detector=None`) this check is left out; the copywriter always passes one.

The facts (brand, model numbers, sizes, numbers, claims, colours, materials) are
`grounding.grounding_score`'s, checked by the copywriter after these.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from services.ai.prompts import SourceProduct, find_injections
from services.marketplaces import BUILT_IN_LANGUAGES, Languages, check_title, language_name, rules_for
from services.normalize.descriptions import ACRONYMS, clean_description
from services.normalize.language import LanguageDetector

_FENCE_RE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)
_TAGS_RE = re.compile(r"<[^>]*>")
_WORD_RE = re.compile(r"[^\W\d_]+")

_CONTACT = (
    ("e-mail address", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (
        "phone number",
        re.compile(
            r"(?:\+|(?<![\w.,])00)\s?\d{2}(?:[\s/-]?\(?\d{2,}\)?)+"
            r"|(?<![\d.,])\d{3}[\s-]\d{3}[\s-]\d{3,4}(?![\d.,])"
            r"|\b(?:tel(?:efon)?|phone|kom|handy|mobil)\b\.?:?\s*\+?\d[\d\s()/-]{5,}\d",
            re.IGNORECASE,
        ),
    ),
    (
        "link",
        re.compile(
            r"https?://\S*|www\.\S*|(?<![\w@.-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:pl|de|com|eu|net|org|shop|info)\b",
            re.IGNORECASE,
        ),
    ),
)
_PROMO_RE = re.compile(
    r"(?<![\w-])(?:"
    # German
    r"versandkostenfrei|gratisversand|kostenlose[rn]?\s+versand|versand|lieferzeit|rabatt\w*|"
    r"sonderangebot\w*|schnäppchen|ausverkauf|tiefpreis\w*|bestpreis\w*|beste[rn]?\s+preis|günstigst\w*|"
    r"preiswert\w*|preishit|"
    # Polish
    r"wysyłk\w*|darmow\w*\s+dostaw\w*|dostaw\w*\s+gratis|promocj\w*|okazj\w*|wyprzedaż\w*|rabat\w*|"
    r"tanio|taniej|najtaniej|najniższ\w*\s+cen\w*|super\s+cen\w*|"
    # English and shared
    r"gratis|free\s+shipping|best\s+price|discount\w*|on\s+sale|sale"
    r")(?![\w-])"
    r"|\d+(?:[.,]\d{1,2})?\s?(?:€|zł|\$|(?:eur|euro|pln|usd)(?![\w-]))|[€$]\s?\d+(?:[.,]\d{1,2})?",
    re.IGNORECASE,
)


class AiCopy(BaseModel):
    """The model's answer: the listing's title and description HTML. Other keys are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    title: str
    description_html: str


def parse_copy(content: str) -> AiCopy | list[str]:
    """The answer as AiCopy, or why it is not one."""
    text = content.strip()
    if fenced := _FENCE_RE.match(text):
        text = fenced[1]
    if not text:
        return ["the answer is empty"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"the answer is not valid JSON ({exc.msg} at character {exc.pos})"]
    if not isinstance(data, dict):
        return [f'the answer is {_json_kind(data)}, not a JSON object with "title" and "description_html"']
    try:
        return AiCopy.model_validate(data)
    except ValidationError as exc:
        return [_field_problem(error["loc"], error["type"], data) for error in exc.errors(include_url=False)]


def check_copy(
    copy: AiCopy,
    source: SourceProduct,
    marketplace: str,
    *,
    languages: Languages = BUILT_IN_LANGUAGES,
    detector: LanguageDetector | None = None,
) -> list[str]:
    """Every problem of the copy (module docstring), empty when it can be listed as it is. With a
    `detector`, the copy's language is checked too."""
    title = copy.title
    problems = [f"title: {problem}" for problem in check_title(title, marketplace)]
    if shouting := _shouting_words(title, source.brand):
        problems.append(f"title: words in capitals: {_listed(shouting)}")

    cleaned = clean_description(copy.description_html, brand=source.brand)
    if not cleaned.text.strip():
        problems.append("description is empty")
    problems += [f"description: {change}" for change in cleaned.changes]
    reported = " ".join(change for change in cleaned.changes if change.startswith("removed"))

    description_text = html_text(copy.description_html)
    for where, text in (("title", title), ("description", description_text)):
        for kind, pattern in _CONTACT:
            if where == "description" and kind in reported:
                continue  # the cleaner said so already
            if found := _matches(pattern, text):
                problems.append(f"{where}: {kind}: {_listed(found)}")
        if injections := find_injections(text, role_labels=False):
            problems.append(f"{where}: instruction-like text: {_listed(injections)}")
        if promo := _matches(_PROMO_RE, text):
            problems.append(f"{where}: promotional, shipping or price claims: {_listed(promo)}")

    if detector is not None:
        language = rules_for(marketplace, languages).language
        if (problem := language_problem(copy, source, language, detector)) is not None:
            problems.append(problem)
    return problems


def language_problem(
    copy: AiCopy, source: SourceProduct, language: str, detector: LanguageDetector
) -> str | None:
    """Why the copy is not in `language` (module docstring, step 4), or None."""
    names = [name for name in (source.brand, source.model) if name]
    found: dict[str, str] = {}
    for part, text in (("title", copy.title), ("description", html_text(copy.description_html))):
        detected = detector.detect(text, names=names)
        if detected is not None and detected != language:
            found[part] = detected
    if not found:
        return None
    if len(found) == 2 and len(set(found.values())) == 1:
        said = f"the title and the description are in {language_name(found['title'])}"
    else:
        said = ", ".join(f"the {part} is in {language_name(code)}" for part, code in found.items())
    return f"the copy must be in {language_name(language)} ({language}); {said}"


def html_text(markup: str) -> str:
    """The text of HTML, tags as spaces, character references decoded, white space collapsed."""
    return " ".join(html.unescape(_TAGS_RE.sub(" ", markup)).split())


def _shouting_words(title: str, brand: str | None) -> list[str]:
    brand_words = set((brand or "").split())
    found = []
    for token in title.split():
        if any(ch.isdigit() for ch in token):
            continue  # model codes and units
        for word in _WORD_RE.findall(token):
            if len(word) >= 5 and word.isupper() and word not in ACRONYMS and word not in brand_words:
                found.append(word)
    return list(dict.fromkeys(found))


def _matches(pattern: re.Pattern[str], text: str) -> list[str]:
    return list(dict.fromkeys(match[0].strip() for match in pattern.finditer(text)))


def _listed(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(f"'{item[:60]}'" for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _field_problem(loc: tuple[int | str, ...], error_type: str, data: dict[str, Any]) -> str:
    name = ".".join(str(part) for part in loc)
    if error_type == "missing":
        return f'"{name}" is missing'
    value = data.get(str(loc[0])) if loc else None
    return f'"{name}" must be text, not {_json_kind(value)}'


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"

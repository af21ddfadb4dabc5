"""The four parts of a listing's score and the criteria of each. Pure: no I/O.

Each criterion has a share of its part (the shares of a part add up to 100) and earns a fraction of
it, 0 to 1. A criterion with nothing to check (no brand known, so none to put in the title) earns its
share: the attributes part is where a missing brand costs. Words and phrases (brand, model) are found
as whole words in any letter case. Ranges come from targets.TARGETS.

Title (the fitted title, its length counted as the marketplace counts it):

* 30 length: 1 in the best range, 0.75 elsewhere in the good range, 0.5 × length / low below it,
  0 over the marketplace's limit.
* 20 passes check_title for the marketplace.
* 20 nothing cut: the clean title fits the limit, so fitting it cut nothing off.
* 15 the brand in the title; 10 the model in the title.
* 5 no shouting: no word in capitals with a run of 5+ letters, other than tokens with digits (codes:
  "WH-1000XM4"), known acronyms ("AMOLED") and the brand's own words ("SONY" for the brand Sony).
* AI copy: with ``ai_grounding`` below 0, the part keeps (1 − 0.2 × −grounding) of what it earned:
  copy that says only what the source does not loses a fifth of the title part, no more. The
  grounding is clamped to −1..1; 0 and above change nothing.

Description (no text: the whole part earns 0, with one fix):

* 20 present; 30 length of the plain text, 300 characters or more 1, below that length / 300.
* 20 structure: a list or table, or two paragraphs, headings or lines.
* 15 names the brand and the model (an equal part for each that is known).
* 15 not a copy of the title: it has a word the clean title (the seller's, before fitting) lacks.

Images (none: the whole part earns 0, with one fix):

* 40 at least one: every marketplace requires it.
* 40 count: (n − 1) / 4 up to 5 different images. More than the marketplace shows is noted in the
  checks but earns and costs nothing, so adding another https image never lowers the score.
* 10 https: every URL is https, and the cleaner neither upgraded one from http nor dropped a link
  that was not a web address.
* 10 no duplicates: none in the list and none dropped by the cleaner.

Attributes:

* 30 a valid GTIN (EAN); an invalid or missing one earns 0 (the fix says why it matters there).
* 15 brand; 15 model; 15 category path of 2+ levels (1 level: half).
* 25 specifications: the more of the extracted specifications and the attributes sent, 5 or more
  1, below that n / 5.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from services.marketplaces import MarketplaceRules, check_title
from services.normalize.descriptions import ACRONYMS
from services.normalize.gtin import GTIN_LENGTHS, check_gtin
from services.scoring.facts import ListingFacts
from services.scoring.targets import IMAGES_RECOMMENDED, Targets

AI_PENALTY_SHARE = 0.2
DESCRIPTION_LENGTH = 300
SPECIFICATIONS_RECOMMENDED = 5
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_TOKEN_RE = re.compile(r"\S+")
# Five letters in a row, none of them a-z: every shouted word has such a run (and most titles none).
_MAY_SHOUT_RE = re.compile(r"[^\W\d_a-z]{5}")
_PUNCTUATION = ".,;:!?()[]{}\"'„“”‚‘’«»-–—|/+*•…"


@dataclass(slots=True)
class Tally:
    """One part as it is scored: what was checked, and the shares earned and lost (of 100).

    Shares, not points, until the end: the weights only scale the result, so a part is scored the
    same way whatever it weighs.
    """

    name: str
    earned: float = 0  # shares of 100
    checks: list[str] = field(default_factory=list)
    fixes: list[tuple[float, str]] = field(default_factory=list)  # (shares the fix would gain, fix)

    def met(self, share: int, check: str) -> None:
        self.earned += share
        self.checks.append(check)

    def missed(self, share: int, achieved: float, check: str, fix: str) -> None:
        self.earned += share * achieved
        self.checks.append(check)
        self.fixes.append((share * (1 - achieved), fix))


def title_part(facts: ListingFacts, rules: MarketplaceRules, targets: Targets) -> Tally:
    part = Tally("title")
    name, limit = rules.name, rules.max_title_length
    length = rules.count_length(facts.title)
    (low, high), (best_low, best_high) = targets.title_good, targets.title_best
    seen = f"title {length} of {limit} characters"
    if length > limit:
        part.missed(30, 0, f"{seen}: over the limit", f"title {length} characters, {name} allows {limit}")
    elif best_low <= length <= best_high:
        part.met(30, seen)
    elif low <= length <= high:
        how = "add features" if length < best_low else "shorten it"
        fix = f"title {length} characters, {best_low}-{best_high} best on {name}: {how}"
        part.missed(30, 0.75, seen, fix)
    else:
        fix = f"title {length} characters, {low}-{high} recommended on {name}: name more features"
        part.missed(30, 0.5 * length / low, seen, fix)

    if problems := check_title(facts.title, facts.marketplace):
        broken = "; ".join(problems)
        part.missed(20, 0, f"breaks {name} title rules: {broken}", f"title breaks {name} rules: {broken}")
    else:
        part.met(20, f"passes {name} title rules")

    clean_length = length if facts.clean_title == facts.title else rules.count_length(facts.clean_title)
    if clean_length > limit:
        part.missed(
            20,
            0,
            f"clean title {clean_length} characters, cut to fit {limit}",
            f"title {clean_length} characters, {name} shows {limit}: shorten it so nothing is cut",
        )
    else:
        part.met(20, f"nothing cut: the clean title fits {limit} characters")

    named = ((15, "brand", facts.brand, "start the title with it"), (10, "model", facts.model, "add it"))
    for share, kind, value, how in named:
        if not value:
            part.met(share, f"no {kind} to name in the title")
        elif names(facts.title, value):
            part.met(share, f"{kind} '{value}' in the title")
        else:
            problem = f"{kind} '{value}' not in the title"
            part.missed(share, 0, problem, f"{problem}: {how}")

    if shouted := shouted_words(facts.title, facts.brand):
        problem = "ALL-CAPS words in the title: " + ", ".join(f"'{word}'" for word in shouted)
        part.missed(5, 0, problem, f"{problem}: write them in normal case")
    else:
        part.met(5, "no ALL-CAPS words")

    if facts.ai_grounding is not None:
        _weigh_grounding(part, max(-1.0, min(1.0, facts.ai_grounding)))
    return part


def _weigh_grounding(part: Tally, grounding: float) -> None:
    if grounding >= 0:
        part.checks.append(f"AI copy grounded in the source ({grounding:.2f})")
        return
    kept = 1 - AI_PENALTY_SHARE * -grounding
    lost = part.earned * (1 - kept)
    # Every other fix is worth less too: it only wins back the part the grounding leaves.
    part.fixes = [(gain * kept, fix) for gain, fix in part.fixes]
    part.earned *= kept
    part.checks.append(f"AI copy grounding {grounding:.2f}: the title part keeps {kept:.0%}")
    fix = f"AI copy says what the source does not (grounding {grounding:.2f}): keep to its facts"
    part.fixes.append((lost, fix))


def description_part(facts: ListingFacts) -> Tally:
    earned, checks, fixes = _description(
        facts.description_text, facts.description_html, facts.brand, facts.model, facts.clean_title
    )
    return Tally("description", earned, list(checks), list(fixes))


# A product is scored for each of its marketplaces, and its description part is the same on each:
# it is worked out once. Pure, so caching changes no result; each Tally gets lists of its own.
@lru_cache(maxsize=64)
def _description(
    text: str, html: str, brand: str | None, model: str | None, clean_title: str
) -> tuple[float, tuple[str, ...], tuple[tuple[float, str], ...]]:
    part = Tally("description")
    text = text.strip()
    if not text:
        fix = f"no description: write {DESCRIPTION_LENGTH}+ characters on the brand, model and features"
        part.missed(100, 0, "no description", fix)
        return part.earned, tuple(part.checks), tuple(part.fixes)
    part.met(20, "description given")

    length = len(text)
    seen = f"description {length} characters"
    if length >= DESCRIPTION_LENGTH:
        part.met(30, seen)
    else:
        fix = f"description {length} characters, {DESCRIPTION_LENGTH}+ recommended"
        part.missed(30, length / DESCRIPTION_LENGTH, seen, fix)

    if _structured(html, text):
        part.met(20, "description in paragraphs or a list")
    else:
        fix = "description is one block of text: split it into paragraphs or a list of features"
        part.missed(20, 0, "description is one block of text", fix)

    named = {kind: value for kind, value in (("brand", brand), ("model", model)) if value}
    if not named:
        part.met(15, "no brand or model to name in the description")
    elif missing := unnamed(text, named):
        absent = [f"the {kind} '{named[kind]}'" for kind in missing]
        problem = (
            f"description does not name {absent[0]}"
            if len(absent) == 1
            else f"description names neither {absent[0]} nor {absent[1]}"
        )
        part.missed(15, 1 - len(missing) / len(named), problem, problem)
    else:
        part.met(15, "description names the " + " and the ".join(named))

    if _only_repeats(text, clean_title):
        fix = "description only repeats the title: describe the product"
        part.missed(15, 0, "description repeats the title", fix)
    else:
        part.met(15, "description says more than the title")
    return part.earned, tuple(part.checks), tuple(part.fixes)


def images_part(facts: ListingFacts, rules: MarketplaceRules, targets: Targets) -> Tally:
    part = Tally("images")
    if not facts.images:
        fix = f"no image: every marketplace needs 1, {IMAGES_RECOMMENDED}+ recommended"
        part.missed(100, 0, "no image", fix)
        return part
    count = len(set(facts.images))
    part.met(40, "an image given (1 required)")
    if count >= IMAGES_RECOMMENDED:
        part.met(40, f"{count} images ({IMAGES_RECOMMENDED}+ recommended)")
    else:
        achieved = (count - 1) / (IMAGES_RECOMMENDED - 1)
        fix = f"{_counted(count, 'image')}, {IMAGES_RECOMMENDED}+ recommended"
        part.missed(40, achieved, f"{_counted(count, 'image')} of {IMAGES_RECOMMENDED} recommended", fix)
    if (shown := targets.images_shown) is not None and count > shown:
        part.checks.append(f"{rules.name} shows {shown} images: {count - shown} not shown")

    http = len([url for url in facts.images if not url.startswith("https://")])
    dropped_links = duplicates = 0
    for warning in facts.image_warnings:
        if warning.startswith("upgraded to https"):
            http += 1
        elif warning.startswith("dropped a URL"):
            dropped_links += 1
        elif warning.startswith("dropped a duplicate"):
            duplicates += 1
    if http or dropped_links:
        found = [f"{_counted(http, 'image')} over http"] if http else []
        if dropped_links:
            found.append(f"{_counted(dropped_links, 'image link')} dropped (not a web address)")
        problem = " and ".join(found)
        part.missed(10, 0, problem, f"{problem}: give https links to the images")
    else:
        part.met(10, "all images over https")

    duplicates += len(facts.images) - count
    if duplicates:
        problem = f"{_counted(duplicates, 'duplicate image')} in the feed"
        part.missed(10, 0, problem, f"{problem}: give each image once")
    else:
        part.met(10, "no duplicate images")
    return part


def attributes_part(facts: ListingFacts, targets: Targets) -> Tally:
    part = Tally("attributes")
    if facts.gtin_valid is None or facts.gtin is None:
        part.missed(30, 0, "no EAN", targets.missing_ean)
    elif facts.gtin_valid:
        part.met(30, f"EAN {facts.gtin} valid")
    elif facts.gtin.isascii() and facts.gtin.isdigit() and len(facts.gtin) in GTIN_LENGTHS:
        # Digits of a GTIN's length: only the check digit can be wrong (check_gtin's other reasons).
        problem = f"EAN {facts.gtin} fails its check digit"
        part.missed(30, 0, problem, problem)
    else:
        problem = f"EAN {facts.gtin} is not valid: {check_gtin(facts.gtin).reason or 'not a GTIN'}"
        part.missed(30, 0, problem, problem)

    given = (
        ("brand", facts.brand, "give the manufacturer's brand"),
        ("model", facts.model, "give the manufacturer's model number (MPN)"),
    )
    for kind, value, fix in given:
        if value:
            part.met(15, f"{kind} '{value}'")
        else:
            part.missed(15, 0, f"no {kind}", f"no {kind}: {fix}")

    path = facts.category_path or ()
    if len(path) >= 2:
        part.met(15, "category " + " > ".join(path))
    elif path:
        problem = f"category '{path[0]}' has 1 level"
        part.missed(15, 0.5, problem, f"{problem}: give its full path")
    else:
        part.missed(15, 0, "no category", "no category: give its full path, 2 levels or more")

    count = max(len(facts.specifications), facts.attribute_count, 0)
    seen = _counted(count, "specification")
    if count >= SPECIFICATIONS_RECOMMENDED:
        part.met(25, seen)
    else:
        fix = f"{seen}, {SPECIFICATIONS_RECOMMENDED}+ recommended (colour, size, material…)"
        part.missed(25, count / SPECIFICATIONS_RECOMMENDED, seen, fix)
    return part


def names(text: str, phrase: str) -> bool:
    """Whether the text holds the phrase as whole words, in any letter case.

    "Sony" is in "Kopfhörer SONY WH-1000XM4", not in "Sonyx". Spelled as given is the usual case (the
    cleaners spell the brand so), found without lowering the text.
    """
    needle = phrase.strip()
    return _has_word(text, needle) or _has_word(text.lower(), needle.lower())


def unnamed(text: str, phrases: Mapping[str, str]) -> list[str]:
    """The keys of the phrases the long text does not name (see ``names``), in their order."""
    # Lower-casing a long text costs more than searching it. An ASCII phrase (most brands and models)
    # is looked for in the text as lower-case ASCII bytes, one per character ("?" for any other), so
    # positions stay those of the text; only another phrase needs the text lowered.
    folded = text.encode("ascii", "replace").lower()
    lowered = ""
    missing = []
    for key, phrase in phrases.items():
        needle = phrase.strip().lower()
        if needle.isascii() and "?" not in needle:  # "?" stands for the text's other characters
            named = _has_ascii_word(text, folded, needle.encode())
        else:
            lowered = lowered or text.lower()
            named = _has_word(lowered, needle)
        if not named:
            missing.append(key)
    return missing


def _has_word(text: str, needle: str) -> bool:
    if not needle:
        return False
    at = text.find(needle)
    while at >= 0:
        if _whole_word(text, at, at + len(needle)):
            return True
        at = text.find(needle, at + 1)
    return False


def _has_ascii_word(text: str, folded: bytes, needle: bytes) -> bool:
    if not needle:
        return False
    at = folded.find(needle)
    while at >= 0:
        if _whole_word(text, at, at + len(needle)):
            return True
        at = folded.find(needle, at + 1)
    return False


def _whole_word(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] has no letter or digit right before or after it."""
    return (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())


def shouted_words(title: str, brand: str | None) -> list[str]:
    """Title words in capitals that are neither codes, acronyms nor the brand, each once."""
    found: list[str] = []
    if not _MAY_SHOUT_RE.search(title):  # the usual title: no word to look at
        return found
    for token in filter(str.isupper, title.split()):
        if len(token) < 5 or any(map(str.isdigit, token)) or token in found:
            continue
        for letters in _LETTERS_RE.findall(token):
            if len(letters) >= 5 and letters not in ACRONYMS and not (brand and names(brand, letters)):
                found.append(token)
                break
    return found


def _structured(html: str, text: str) -> bool:
    if not html:
        return "\n" in text
    if "<li>" in html or "<tr>" in html or "<br>" in html:
        return True
    return html.count("<p>") + html.count("<h2>") + html.count("<h3>") >= 2


def _only_repeats(text: str, title: str) -> bool:
    """Whether every word of the text is a word of the title, in any letter case.

    Word by word, stopping at the first the title lacks: a real description differs within a few
    words. A word that is not even part of the title's text is found without splitting the title.
    """
    lowered = title.lower()
    words: set[str] | None = None
    for match in _TOKEN_RE.finditer(text):
        key = match[0].strip(_PUNCTUATION).lower()
        if not key:
            continue
        if key not in lowered:
            return False
        if words is None:
            words = {word.strip(_PUNCTUATION) for word in lowered.split()}
        if key not in words:
            return False
    return True


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"

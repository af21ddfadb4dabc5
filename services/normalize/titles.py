"""Clean scraped offer titles: promo spam, emoji and shouting go; every other word stays.

Rules, in this order:

* Invisible characters (zero-width spaces, soft hyphens, BOMs) are removed.
* Decorative symbols (★ ✔ ➤ • ► ■ → …) and emoji or pictographs (U+1F000–U+1FAFF, U+2600–U+27BF,
  U+2B00–U+2BFF, keycaps, variation selectors, flags) are removed.
* Promo phrases are removed in any letter case, also written without Polish letters: SUPER OKAZJA,
  OKAZJA, NOWOŚĆ, PROMOCJA, WYPRZEDAŻ, GRATIS, TANIO, WYSYŁKA 24H, FV 23%, FAKTURA VAT (23%). "HIT"
  and a lone "24H" only in capitals: in lower case they are words ("24h" of battery life).
* Runs of "!" and "?" ("!!!", "?!") and a lone "!" or "?" are removed. Separators the removals leave
  dangling ("Sony - ", "| |", "()") go, and white space is collapsed.
* The brand, wherever it occurs, is spelled as given ("SONY" → "Sony" for the brand "Sony").
* ALL-CAPS words of five letters or more become Title case ("SŁUCHAWKI" → "Słuchawki"). Kept as they
  are: tokens with a digit (model codes and units: "WH-1000XM4", "S5587/10", "128GB", "5G") and words
  of at most four letters (acronyms: "ANC", "USB-C", "HDMI", "GSR"), except short ALL-CAPS
  prepositions and conjunctions (DO, DLA, ORAZ, UND, FÜR…), which become lower case (Title case first).

A title that would be left without a letter or digit is kept as given (white space collapsed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_INVISIBLE_RE = re.compile("[\u00ad\u200b\u200c\u200e\u200f\u2060\ufeff]")
_DECORATIVE = (
    "\u2022\u2023\u2043\u2190-\u21ff\u25a0-\u25ff\u2605\u2606\u2660-\u2667"
    "\u2713-\u2718\u2726-\u2730\u2756\u2794-\u27bf\u2b00-\u2b4f"
)
_DECORATIVE_RE = re.compile(f"[{_DECORATIVE}]+")
_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b50-\u2bff\u231a\u231b\u23e9-\u23fa"
    "\u3030\u303d\u3297\u3299\ufe0e\ufe0f\u200d\u20e3\U000e0020-\U000e007f]+"
)
_JOINERS = frozenset("\ufe0e\ufe0f\u200d\u20e3")

_PROMO_PHRASES = (
    r"SUPER\s+OKAZJ[AI]",
    r"OKAZJ[AI]",
    r"NOWO[SŚ][CĆ]",
    r"PROMOCJ[AI]",
    r"WYPRZEDA[ZŻ]",
    r"GRATIS",
    r"TANIO",
    r"WYSY[LŁ]KA\s+(?:W\s+)?24\s*H",
    r"FV\s*23\s*%",
    r"FAKTURA\s+VAT(?:\s*23\s*%)?",
)
# Glued to a letter, digit or hyphen it is part of another word or code ("HIT-200").
_PROMO_RE = re.compile(rf"(?<![\w-])(?:{'|'.join(_PROMO_PHRASES)})(?![\w-])", re.IGNORECASE)
_CAPS_PROMO_RE = re.compile(r"(?<![\w-])(?:HIT|24\s?H)(?![\w-])")
_BANGS_RE = re.compile(r"[!?¡¿]{2,}|(?<!\S)[!?](?!\S)")

_EMPTY_BRACKETS_RE = re.compile(r"\(\s*\)|\[\s*\]")
_SPACE_BEFORE_COMMA_RE = re.compile(r"\s+([,;])")
_SEPARATORS = "-–—|/+,;:·*~"  # as str.strip() takes them: a token it empties holds only these
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_WORD_SPLIT_RE = re.compile(r"\S+")

# ALL-CAPS words of up to four letters that are words, not acronyms (Polish, German, English).
MINOR_WORDS = frozenset(
    {
        "DO", "DLA", "NA", "OD", "PO", "ZE", "ZA", "BEZ", "ORAZ", "LUB", "PRZY", "NAD", "POD", "CZY",
        "UND", "FÜR", "MIT", "DER", "DIE", "DAS", "VON", "ZUM", "ZUR", "ODER",
        "AND", "FOR", "WITH", "THE", "OF",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CleanTitle:
    text: str
    changes: list[str] = field(default_factory=list)


def clean_title(title: str, *, brand: str | None) -> CleanTitle:
    """The title without promo spam, emoji and shouting, and the list of what was changed."""
    changes: list[str] = []
    text = _INVISIBLE_RE.sub("", title)
    text = _remove(_DECORATIVE_RE, text, changes, "removed decorative symbols")
    text = _remove(_EMOJI_RE, text, changes, "removed emoji")
    for pattern in (_PROMO_RE, _CAPS_PROMO_RE):
        text, found = _cut(pattern, text)
        changes.extend(f"removed promo phrase '{' '.join(phrase.split())}'" for phrase in found)
    text, found = _cut(_BANGS_RE, text)
    changes.extend(f"removed '{bangs}'" for bangs in found)
    text = _tidy(text)
    if not any(map(str.isalnum, text)):
        kept = " ".join(title.split())
        return CleanTitle(kept, ["kept the title as given: cleaning would leave no words"])
    if brand and brand.strip():
        text = _spell_brand(text, brand.strip(), changes)
    return CleanTitle(_fix_capitals(text, brand, changes), _unique(changes))


def _cut(pattern: re.Pattern[str], text: str) -> tuple[str, list[str]]:
    """The text with each match replaced by a space, and the matches: one pass over the text."""
    found: list[str] = []

    def cut(match: re.Match[str]) -> str:
        found.append(match[0])
        return " "

    return pattern.sub(cut, text), found


def _remove(pattern: re.Pattern[str], text: str, changes: list[str], message: str) -> str:
    text, found = _cut(pattern, text)
    shown = dict.fromkeys(symbols for symbols in found if set(symbols) - _JOINERS)
    if shown:
        changes.append(f"{message} '{' '.join(shown)}'")
    return text


def _tidy(text: str) -> str:
    """Collapse white space; drop empty brackets and separators left with nothing to separate."""
    text = _SPACE_BEFORE_COMMA_RE.sub(r"\1", _EMPTY_BRACKETS_RE.sub(" ", text))
    words: list[str] = []
    for word in text.split():
        if is_separator(word) and (not words or is_separator(words[-1])):
            continue
        words.append(word)
    while words and is_separator(words[-1]):
        words.pop()
    if words:
        words[-1] = words[-1].rstrip(",;:") or words[-1]
    return " ".join(words)


def is_separator(word: str) -> bool:
    """A token made of separator characters only: "-", "|", "/", "+", "," …"""
    return not word.strip(_SEPARATORS)


def _spell_brand(text: str, brand: str, changes: list[str]) -> str:
    def spell(match: re.Match[str]) -> str:
        if match[0] != brand:
            changes.append(f"'{match[0]}' → '{brand}'")
        return brand

    return _brand_re(brand).sub(spell, text)


@lru_cache(maxsize=1024)  # a job brings many offers of each brand: compile its pattern once
def _brand_re(brand: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(brand)}(?!\w)", re.IGNORECASE)


def _fix_capitals(text: str, brand: str | None, changes: list[str]) -> str:
    brand = (brand or "").strip()
    brand_spans = [m.span() for m in _brand_re(brand).finditer(text)] if brand else []
    words = []
    for match in _WORD_SPLIT_RE.finditer(text):
        word = match[0]
        # Only a word with a capital can be changed: most are in lower case (checked first: cheap).
        if (
            any(map(str.isupper, word))
            and not any(map(str.isdigit, word))
            and not any(start < match.end() and match.start() < end for start, end in brand_spans)
        ):
            fixed = _fix_token(word, first=match.start() == 0)
            if fixed != word:
                changes.append(f"'{word}' → '{fixed}'")
                word = fixed
        words.append(word)
    return " ".join(words)


def _fix_token(token: str, *, first: bool) -> str:
    def fix(letters: re.Match[str]) -> str:
        return _fix_word(letters[0], first=first and letters.start() == 0)

    return _LETTERS_RE.sub(fix, token)


def _fix_word(word: str, *, first: bool) -> str:
    if len(word) < 2 or not word.isupper():
        return word
    if word in MINOR_WORDS:
        return word.capitalize() if first else word.lower()
    return word if len(word) <= 4 else word.capitalize()


def _unique(changes: list[str]) -> list[str]:
    return list(dict.fromkeys(changes))

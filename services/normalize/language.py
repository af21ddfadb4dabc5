"""Tell the language of a listing's title or description, or that it holds too little language to tell.

Rules, in this order:

* Only the first MAX_SCAN_CHARS characters are read, and lingua weighs the first MAX_DETECT_CHARS
  characters of plain words: its cost grows with the text, and a description's language shows in its
  first sentences. Own letters (below) are looked for in the first MAX_OWN_LETTERS_CHARS characters.
* HTML tags go (script and style elements with their content), character references are decoded
  ("&ouml;" is "ö"); URLs and e-mail addresses go.
* The rest is split into tokens at white space, hyphens and punctuation. A token is a plain word when
  it is made of letters (apostrophes inside allowed: "Men's") and is none of: a token with a digit
  (model codes, sizes: "1000XM4", "128GB", "3200W"); a unit, a token of at most MAX_UNIT_LETTERS
  letters right after a number ("100 ml", "2 kg"); ALL-CAPS or a lone capital (brands, acronyms,
  shouted promo and model letters: "SONY", "ANC", "OKAZJA", the "X" of "Series X"); a word with a
  capital after its first letter ("iPhone", "IdeaPad": product names); a word of one of the given
  names (brand, model), compared case-insensitively ("Galaxy" of the model "Galaxy S23").
* Fewer than MIN_WORDS plain words, or fewer than MIN_LETTERS characters in them: undetermined (None).
* First, a text with at least MIN_OWN_LETTER_WORDS words written with letters that only one of the
  detector's languages uses (Polish "ą ć ę ł ń ś ź ż", German "ä ö ü ß"; the given names do not
  count), and none with another's, is in that language, without asking lingua: most scraped Polish
  copy, at a tenth of the cost. Only while every language of the detector is one of OWN_LETTERS' or
  English, so that no other language the detector knows writes the same letters.
* Otherwise lingua (lingua-language-detector) weighs the plain words against the detector's languages,
  English and Polish (GUARD_LANGUAGES). Its most likely language is the answer when lingua gives it at
  least MIN_CONFIDENCE, and, for English, when the text has at least MIN_ENGLISH_WORDS plain words;
  otherwise the text is undetermined.

Undetermined is no verdict: "Samsung Galaxy S23 128GB" is in no language, and a listing is not wrong
for it. The thresholds were measured on our texts with `python -m bench.language` (figures below).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
from lingua import LanguageDetector as _LinguaDetector

# Always told apart, whatever languages are asked for. lingua answers with one of the languages it was
# built with, so a text in any other one is forced into the nearest of them:
# * en: scraped copy borrows English (makers' descriptions, "Slim Fit", "Noise Cancelling"); without
#   it an English text would be called German or Polish and pass as one of them.
# * pl: the scraped sources are Polish, so untranslated copy is Polish, whatever the marketplaces'
#   configured languages: a detector for German (and English) called 21 of our 122 Polish texts German.
GUARD_LANGUAGES: tuple[str, ...] = ("en", "pl")

# Measured with `python -m bench.language` (2026-12-07) on 252 labelled texts, 32 name-heavy titles and
# 3,000 made-up product names ("Einhell Ultra Lite"), which are in no language.
# No labelled text was called a wrong language at any of the thresholds tried: they hold back the
# verdicts on names, and cost undetermined texts.
# * MIN_CONFIDENCE: names were called German or Polish with up to 0.89 (1 of 3,032 at 0.85, 5 at 0.8,
#   16 at 0.75); 0.85 leaves 10 of the 252 labelled texts (4 %) undetermined, 0.9 would leave 13.
# * MIN_LETTERS: with fewer characters lingua's values jump ("Samsung Galaxy", 13, is German at 0.82):
#   names called German or Polish at 0.85 were 3 with 10 characters, 1 with 14, 0 with 18, which
#   leaves 2 more labelled titles undetermined.
# * MIN_WORDS: one word is too little to call a listing wrong, and often a name ("Magnifica" is English
#   at 0.98). Two keeps the tests' Polish titles ("bezprzewodowe czarne": pl at 1.0), three would leave
#   23 labelled texts undetermined; one would determine two more German titles of one long compound
#   ("Winkelschleifer").
# * MIN_ENGLISH_WORDS: product lines are named with English words, so lingua calls names English with
#   high confidence: 7 % of the made-up names at 0.85 or more, still 2.9 % with this at 4. Names have
#   at most four plain words once codes, capitals, brand and model are gone (the made-up ones by
#   construction, the real ones here too); our English titles have six or more. So a name of five
#   English words is called English, and an English title of four is undetermined.
# Letters only one of our languages writes (among de, en and pl), and how many words with them make a
# verdict. On bench.language's 284 texts no such verdict went against a text's label with 1, 2 or 3
# words (150, 77 and 50 texts decided); two, so that one borrowed word (a town, a dish) never decides.
OWN_LETTERS = {"pl": frozenset("ąćęłńśźż"), "de": frozenset("äöüß")}
MIN_OWN_LETTER_WORDS = 2
# Own letters are looked for in more of the text than lingua weighs: counting them is cheap.
MAX_OWN_LETTERS_CHARS = 400
# Either case: "ß" has no one-letter capital ("SS"), and an "S" must not join the class.
_OWN_LETTER_CASES = {
    code: "".join(sorted({*letters, *(c.upper() for c in letters if len(c.upper()) == 1)}))
    for code, letters in OWN_LETTERS.items()
}
# A word holding one of them: the lookahead runs only where a word starts.
_OWN_LETTER_WORD_RES = {
    code: re.compile(r"\b(?=[^\W\d_]*[" + letters + r"])[^\W\d_]+")
    for code, letters in _OWN_LETTER_CASES.items()
}
MIN_CONFIDENCE = 0.85
MIN_LETTERS = 14
MIN_WORDS = 2
MIN_ENGLISH_WORDS = 5
MAX_UNIT_LETTERS = 3  # "ml", "kg", "cm", "mAh"; "lat" of "od 3 lat" goes too, a small loss
# lingua weighs 1- to 5-grams below 120 characters and trigrams only from 120 on, so a text just over
# 120 characters costs about half of one just under it (≈ 70 µs at 130 characters against ≈ 150 µs at
# 119, min of 300 on this machine); a whole 10 KB text takes 11 ms. Our descriptions came out the same
# from their first 100 characters as from all of them. The score stage detects every new listing, so
# this is on the pipeline's hot path: 130 characters, just past the switch.
MAX_DETECT_CHARS = 160
# Markup, numbers and names take room before the plain words: ten times leaves plenty.
MAX_SCAN_CHARS = 10 * MAX_DETECT_CHARS

# A script or style cut off by MAX_SCAN_CHARS goes to the end; "$" also takes a cut tag ("<p cla").
_DROPPED_ELEMENT_RE = re.compile(r"<(script|style)\b.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[a-zA-Z/!?][^>]*(?:>|$)")
_URL_RE = re.compile(r"\S*(?:://|www\.|@)\S*", re.IGNORECASE)
# Tokens: what lies between white space and the punctuation that never joins letters into one word.
_TOKEN_RE = re.compile(r"[^\s,;:()\[\]{}<>\"“”„«»/\\|+*=!?…•·–—-]+")
_WORD_EDGES = ".'’‘`´"
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


class LanguageDetector:
    """Tells which of its languages a text is written in (the module's docstring). Get it from
    `detector_for`: building one loads lingua's models (half a second, about 145 MB)."""

    def __init__(self, languages: Iterable[str]) -> None:
        self._languages = tuple(sorted(_codes(languages)))
        # Own letters decide only among languages whose letters no other of the detector's writes.
        self._own_letters = (
            tuple(code for code in OWN_LETTERS if code in self._languages)
            if set(self._languages) <= {*OWN_LETTERS, "en"}
            else ()
        )
        # Preloaded: lazily loaded models would make the first listings of each language slow.
        self._lingua: _LinguaDetector = (
            LanguageDetectorBuilder.from_languages(*map(_language, self._languages))
            .with_preloaded_language_models()
            .build()
        )

    @property
    def languages(self) -> tuple[str, ...]:
        """The ISO 639-1 codes it tells apart, sorted, the guards included: a fingerprint for cache keys."""
        return self._languages

    def detect(self, text: str, *, names: Iterable[str] = ()) -> str | None:
        """The ISO 639-1 code of the text's language, or None when it is undetermined."""
        if self._own_letters and (
            own := own_letters_language(text[:MAX_OWN_LETTERS_CHARS], names, self._own_letters)
        ):
            return own
        words = plain_words(text, names=names)
        if len(words) < MIN_WORDS or sum(map(len, words)) < MIN_LETTERS:
            return None
        best = self._lingua.compute_language_confidence_values(" ".join(words))[0]
        code = _code(best.language)
        if best.value < MIN_CONFIDENCE or (code == "en" and len(words) < MIN_ENGLISH_WORDS):
            return None
        return code

    def confidences(self, text: str, *, names: Iterable[str] = ()) -> dict[str, float]:
        """lingua's confidence for each language, on the text's plain words, before any threshold
        (to measure them); empty for a text without plain words."""
        words = plain_words(text, names=names)
        if not words:
            return {}
        values = self._lingua.compute_language_confidence_values(" ".join(words))
        return {_code(value.language): value.value for value in values}


def detector_for(languages: Iterable[str]) -> LanguageDetector:
    """The process's detector for these languages and the guards, built on first use (building loads
    the models). Ask for every language a listing's text may be in, all our marketplaces' (what
    `marketplace_languages` gives), not only its own: lingua for Polish and English alone called 11 of
    our 100 German texts Polish."""
    return _detector(frozenset(_codes(languages)))


@lru_cache(maxsize=8)
def _detector(codes: frozenset[str]) -> LanguageDetector:
    return LanguageDetector(codes)


def plain_words(text: str, *, names: Iterable[str] = ()) -> list[str]:
    """The text's plain words (the module's docstring), as many as fit in MAX_DETECT_CHARS."""
    text = text[:MAX_SCAN_CHARS]
    if "<" in text:
        text = _TAG_RE.sub(" ", _DROPPED_ELEMENT_RE.sub(" ", text))
    if "&" in text:
        text = html.unescape(text)
    if "://" in text or "www." in text or "@" in text:
        text = _URL_RE.sub(" ", text)
    skipped = _name_words(tuple(names))
    words: list[str] = []
    length = -1  # no space before the first word
    after_number = False
    for match in _TOKEN_RE.finditer(text):
        word = match[0].strip(_WORD_EDGES)
        unit = after_number and len(word) <= MAX_UNIT_LETTERS
        after_number = word.isdigit()
        if unit or not _is_plain(word) or word.casefold() in skipped:
            continue
        length += 1 + len(word)
        if length > MAX_DETECT_CHARS:
            break
        words.append(word)
    return words


def own_letters_language(
    text: str, names: Iterable[str], codes: Iterable[str] = tuple(OWN_LETTERS)
) -> str | None:
    """The one language of `codes` whose own letters MIN_OWN_LETTER_WORDS words of the text hold (names
    left out), no other's; else None. A regular expression over the raw text: a tenth of plain_words'
    cost."""
    skipped = _name_words(tuple(names))
    found = None
    for code in codes:
        pattern = _OWN_LETTER_WORD_RES[code]
        if not any(letter in text for letter in _OWN_LETTER_CASES[code]):
            continue  # the usual German or English text: a few C-speed scans, no regex
        holding = sum(1 for word in pattern.findall(text) if word.casefold() not in skipped)
        if holding >= MIN_OWN_LETTER_WORDS and found is None:
            found = code
        elif holding:
            return None  # letters of two languages: lingua decides
    return found


def _is_plain(word: str) -> bool:
    if not _WORD_RE.fullmatch(word):
        return False  # empty, or holds a digit, "_", or a dot inside ("z.B.", "example.pl")
    # ALL-CAPS ("SONY", "ANC") or a capital after the first letter ("iPhone", "IdeaPad"); a lone
    # capital is a model's letter ("Series X", "USB-C") more often than a word.
    return word[1:] == word[1:].lower() and not (len(word) == 1 and word.isupper())


@lru_cache(maxsize=1024)  # a product's brand and model, asked for each of its texts
def _name_words(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(word.strip(_WORD_EDGES).casefold() for name in names for word in _TOKEN_RE.findall(name))


def _codes(languages: Iterable[str]) -> set[str]:
    return {code.strip().lower() for code in languages} | set(GUARD_LANGUAGES)


def _language(code: str) -> Language:
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
    except ValueError:
        raise ValueError(f"not a language lingua knows: {code!r} (an ISO 639-1 code such as de)") from None


def _code(language: Language) -> str:
    return str(language.iso_code_639_1.name).lower()

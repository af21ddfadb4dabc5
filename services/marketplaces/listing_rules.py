"""Title rules of each marketplace, in one table, and fitting a clean title to them.

`fit_title` applies, in order:

1. White space and control characters become single spaces; invisible format characters go.
2. Characters the marketplace refuses are replaced by a space (so "Kabel_USB" keeps two words).
3. Where the marketplace limits repeats (Amazon: twice), the third and later uses of a word go; words
   compare case-insensitively without the punctuation around them ("Etui," is "etui").
4. Separators left with nothing to separate go: a run of separator-only tokens ("- |") keeps its
   first, and none starts or ends the title; nor does a "," ";" ":" "/" "-" "|" "(" glued to the end.
5. A title over the limit, counted as the marketplace counts, is cut after the last whole word that
   fits, then step 4 again. Only a first word longer than the limit is itself cut.

The result always passes `check_title`, except that an empty title stays empty; fitting is
idempotent. Kaufland refuses emoji and symbols (Unicode "other symbols" such as ★ ™ ®, except the
degree sign, which is a unit).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

_SEPARATORS = "-–—|/+&,;:·("  # as str.strip() takes them: a token it empties holds only these
_TRAILING = ",;:/-–—|("
_EMOJI_PARTS = frozenset("\ufe0e\ufe0f\u20e3")


@dataclass(frozen=True, slots=True)
class MarketplaceRules:
    marketplace: str
    name: str
    max_title_length: int
    forbidden_characters: frozenset[str] = frozenset()
    forbid_symbols: bool = False
    max_word_repeats: int | None = None
    # Characters that count as more than one (Allegro counts HTML entities: "&" is "&amp;").
    character_weights: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # What the listing is priced in and written in, and the marketplace's usual sales fee (a percent
    # of the gross price): the margin floor includes it. A pricing profile may set a seller's own fee
    # per marketplace. `country` (ISO 3166 code) decides the VAT in its prices, which are gross: the
    # rates per country are configuration (VAT_RATES), reduced ones per category a pricing profile's.
    currency: str = "EUR"
    language: str = "de"
    fee_percent: Decimal = Decimal(0)
    country: str = "DE"
    # What a listing needs before it may go out: a valid EAN where the marketplace keys its catalogue
    # by it (Kaufland) or asks for a product id (Amazon, unless the brand has a GTIN exemption), and
    # at least one image everywhere.
    requires_ean: bool = False
    min_images: int = 1

    def count_length(self, title: str) -> int:
        """The title's length as this marketplace counts it."""
        # str.count finds each weighted character at C speed; summing weights per character would not.
        return len(title) + sum(
            (weight - 1) * title.count(ch) for ch, weight in self.character_weights.items()
        )

    def is_forbidden(self, ch: str) -> bool:
        return ch in self.forbidden_characters or (self.forbid_symbols and _is_symbol(ch))

    def refused(self, text: str) -> list[str]:
        """The characters of the text this marketplace refuses, each once, in the order they come."""
        if self.forbidden_characters.isdisjoint(text) and not (
            self.forbid_symbols and _may_hold_symbols(text)
        ):
            return []  # the usual title: no need to look at each character
        return [ch for ch in dict.fromkeys(text) if self.is_forbidden(ch)]


_AMAZON_FORBIDDEN = frozenset("!$?_{}^¬¦")

# Fees are the common referral / final-value fee of each marketplace's price list (Amazon 15 %,
# eBay 11 %, Kaufland 10.5 % in most categories); categories differ, so profiles can override them.
_FEE_AMAZON, _FEE_EBAY, _FEE_KAUFLAND, _FEE_ALLEGRO = (Decimal(f) for f in ("15", "11", "10.5", "10"))

_RULES: dict[str, MarketplaceRules] = {
    rules.marketplace: rules
    for rules in (
        MarketplaceRules(
            "amazon_de", "Amazon.de", 200, _AMAZON_FORBIDDEN, max_word_repeats=2, fee_percent=_FEE_AMAZON,
            requires_ean=True,
        ),
        MarketplaceRules(
            "amazon_pl", "Amazon.pl", 200, _AMAZON_FORBIDDEN, max_word_repeats=2,
            currency="PLN", language="pl", fee_percent=_FEE_AMAZON, country="PL", requires_ean=True,
        ),
        MarketplaceRules("ebay_de", "eBay.de", 80, fee_percent=_FEE_EBAY),
        MarketplaceRules(
            "ebay_pl", "eBay.pl", 80, currency="PLN", language="pl", fee_percent=_FEE_EBAY, country="PL"
        ),
        MarketplaceRules(
            "kaufland_de", "Kaufland.de", 80, forbid_symbols=True, fee_percent=_FEE_KAUFLAND,
            requires_ean=True,
        ),
        MarketplaceRules(
            "allegro_pl",
            "Allegro",
            75,
            frozenset("™"),
            character_weights=MappingProxyType({"&": 5, "<": 4, ">": 4, '"': 6}),
            currency="PLN",
            language="pl",
            fee_percent=_FEE_ALLEGRO,
            country="PL",
        ),
    )
}  # fmt: skip
MARKETPLACES: Mapping[str, MarketplaceRules] = MappingProxyType(_RULES)  # read-only
DEFAULT_MARKETPLACES = ("amazon_de", "ebay_de", "kaufland_de")
# The seed's marketplace names (`?target_marketplace=amazon`): its marketplaces were the German ones.
ALIASES = MappingProxyType(
    {"amazon": "amazon_de", "ebay": "ebay_de", "kaufland": "kaufland_de", "allegro": "allegro_pl"}
)


def resolve_marketplace(name: str) -> str:
    """A marketplace id from an id or the seed's name ("amazon"); KeyError naming the known ones."""
    marketplace = ALIASES.get(name.strip().lower(), name.strip().lower())
    if marketplace not in MARKETPLACES:
        known = ", ".join([*MARKETPLACES, *ALIASES])
        raise KeyError(f"unknown marketplace {name!r}; known: {known}")
    return marketplace


@dataclass(frozen=True, slots=True)
class FittedTitle:
    text: str
    changes: list[str] = field(default_factory=list)


# The names of the languages copy is written in, for prompts and for sellers' messages.
LANGUAGE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "de": "German", "pl": "Polish", "en": "English", "cs": "Czech", "sk": "Slovak", "fr": "French",
        "it": "Italian", "es": "Spanish", "nl": "Dutch",
    }
)  # fmt: skip


def language_name(code: str) -> str:
    """ "German" for "de"; the code itself for a language without a name here."""
    return LANGUAGE_NAMES.get(code, code)


Languages = Mapping[str, str]  # marketplace id -> two-letter code, where configuration differs
BUILT_IN_LANGUAGES: Languages = MappingProxyType({})


def check_languages(languages: Languages) -> Languages:
    """The configured languages (MARKETPLACE_LANGUAGES), checked: ValueError naming an unknown
    marketplace or a language that is not a two-letter code."""
    for marketplace, language in languages.items():
        if marketplace not in MARKETPLACES:
            raise ValueError(f"unknown marketplace {marketplace!r}; known: {', '.join(MARKETPLACES)}")
        if not re.fullmatch(r"[a-z]{2}", language):
            raise ValueError(f"the language of {marketplace} must be a code such as de, not {language!r}")
    return MappingProxyType(dict(languages))


def marketplace_languages(languages: Languages = BUILT_IN_LANGUAGES) -> frozenset[str]:
    """Every language our marketplaces list in, as configured: what the language check tells apart."""
    return frozenset(rules_for(marketplace, languages).language for marketplace in MARKETPLACES)


def rules_for(marketplace: str, languages: Languages = BUILT_IN_LANGUAGES) -> MarketplaceRules:
    """The rules of a marketplace id, written in the language `languages` gives it, if any (the
    configured ones are passed by whoever writes copy); KeyError naming the known ids for any other."""
    try:
        rules = MARKETPLACES[marketplace]
    except KeyError:
        known = ", ".join(MARKETPLACES)
        raise KeyError(f"unknown marketplace {marketplace!r}; known: {known}") from None
    language = languages.get(marketplace)
    return rules if language is None or language == rules.language else replace(rules, language=language)


def fit_title(title: str, marketplace: str) -> FittedTitle:
    """The title made to pass the marketplace's rules (see the module's docstring), and what changed."""
    rules = rules_for(marketplace)
    changes: list[str] = []
    plain = _plain(title)
    if forbidden := rules.refused(title):
        changes.append(f"removed characters {rules.name} refuses: {_listed(forbidden)}")
        plain = plain.translate(dict.fromkeys(map(ord, forbidden), " "))
    words = plain.split()
    if rules.max_word_repeats is not None:
        words = _drop_repeats(words, rules.max_word_repeats, changes)
    if (tidy := _tidy(words)) != words:
        changes.append("removed dangling separators")
        words = tidy
    length = rules.count_length(" ".join(words))
    if length > rules.max_title_length:
        words = _shorten(words, rules, changes)
        changes.append(
            f"shortened from {length} to {rules.count_length(' '.join(words))} characters "
            f"(at most {rules.max_title_length} on {rules.name})"
        )
    return FittedTitle(" ".join(words), changes)


def check_title(title: str, marketplace: str) -> list[str]:
    """What breaks the marketplace's title rules, one message each; empty when the title passes."""
    rules = rules_for(marketplace)
    if not title.strip():
        return ["title is empty"]
    problems = []
    length = rules.count_length(title)
    if length > rules.max_title_length:
        how = " as Allegro counts them" if rules.character_weights else ""
        problems.append(f"too long: {length} characters{how}, at most {rules.max_title_length}")
    if forbidden := rules.refused(title):
        problems.append(f"characters {rules.name} refuses: {_listed(forbidden)}")
    if _plain(title) != title or " ".join(title.split()) != title:
        problems.append("extra white space or control characters")
    words = title.split()
    if rules.max_word_repeats is not None:
        counts = Counter(key for word in words if (key := _word_key(word)))
        for key, count in counts.items():
            if count > rules.max_word_repeats:
                problems.append(f"'{key}' is used {count} times, at most {rules.max_word_repeats}")
    if words and _tidy(words) != words:
        problems.append("dangling separators")
    return problems


def _plain(text: str) -> str:
    """White space and control characters as spaces; invisible format characters and surrogates gone."""
    if text.isprintable():  # holds none of them (nor white space other than " "): the usual title
        return text
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch.isspace() or category == "Cc":
            out.append(" ")
        elif category not in ("Cf", "Cs"):
            out.append(ch)
    return "".join(out)


def _drop_repeats(words: list[str], limit: int, changes: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    kept = []
    for word in words:
        key = _word_key(word)
        if key:
            seen[key] += 1
            if seen[key] > limit:
                continue
        kept.append(word)
    if dropped := [key for key, count in seen.items() if count > limit]:
        changes.append(f"removed repeats of {_listed(dropped)} (each at most {limit} times)")
    return kept


def _word_key(word: str) -> str:
    """The word for counting repeats: case-folded, without the punctuation around it; "" for "-"."""
    start, end = 0, len(word)
    while start < end and not word[start].isalnum():
        start += 1
    while end > start and not word[end - 1].isalnum():
        end -= 1
    return word[start:end].casefold()


def _is_separator(word: str) -> bool:
    return not word.strip(_SEPARATORS)


def _tidy(words: list[str]) -> list[str]:
    kept: list[str] = []
    for word in words:
        if _is_separator(word) and (not kept or _is_separator(kept[-1])):
            continue
        kept.append(word)
    while kept:
        last = kept[-1].rstrip(_TRAILING)
        if last and not _is_separator(last):
            kept[-1] = last
            break
        kept.pop()
    return kept


def _shorten(words: list[str], rules: MarketplaceRules, changes: list[str]) -> list[str]:
    limit = rules.max_title_length
    kept: list[str] = []
    length = -1  # no space before the first word
    for word in words:
        length += 1 + rules.count_length(word)
        if length > limit:
            break
        kept.append(word)
    if not kept:  # one word longer than the limit: only cutting it can fit
        cut = ""
        for ch in words[0]:
            if rules.count_length(cut + ch) > limit:
                break
            cut += ch
        changes.append(f"cut the word '{words[0][:30]}…' to fit")
        kept = [cut]
    return _tidy(kept)


# ASCII characters, letters, digits and "_" (all \w) are never symbols: a text of only these holds none.
_NO_SYMBOLS_RE = re.compile(r"[\x00-\x7f\w]*")


def _may_hold_symbols(text: str) -> bool:
    return not _NO_SYMBOLS_RE.fullmatch(text)


def _is_symbol(ch: str) -> bool:
    """Emoji and symbols such as ★ ™ ®; the degree sign is a unit, not decoration."""
    if ch == "°":
        return False
    return unicodedata.category(ch) == "So" or ch in _EMOJI_PARTS or "\U0001f3fb" <= ch <= "\U0001f3ff"


def _listed(items: list[str]) -> str:
    return " ".join(f"'{item}'" for item in items)

"""Whether a model's copy says only what the source product states: the facts that do not translate,
checked in any language and any category, and a score from −1 to +1. Pure: no I/O.

No word is translated: the facts of a listing read the same in every language (a brand, a model
number, "250 g", an EAN) or are named by a short multilingual table of facts (colours, materials,
claims), which maps each word to one id whatever its language ("schwarz", "czarne" and "black" are
the colour black).

The facts of the output (its title and its description's text), each checked against every text of
the source (`SourceProduct.texts`: titles, brand, model, category, specifications, description, EAN):

* brand: a known brand (`extract.KNOWN_BRANDS`) named in the output must be in the source; the
  source's own brand named in the output counts as a checked fact.
* model number: a token mixing letters and digits ("WH-1000XM5", "IPX4", "8/128GB"), not a number
  with a short unit ("30h", "128GB", "5G"), nor numbers joined to plain words ("2-in-1",
  "3-teilig"), must be in the source, compared without case and punctuation; one of six characters
  or more may also be part of a longer source code.
* size: a quantity of `normalize.units` ("250 g", "1,5 m", '15,6"') must be one the source states,
  in any unit of its kind ("0,25 kg" is "250 g").
* duration: a number with a unit of time (`DURATION_UNITS`: hours, days, months, years in German,
  Polish and English: "30 Stunden", "24 miesiące", "2 Jahre") must be a duration the source states
  (in months for months and years, "2 Jahre" is "24 miesiące"; in seconds for the rest), or its
  number must be a whole number standing alone in the source and not one it gives with such a unit
  ("3+" grounds "ab 3 Jahren", but "24 Jahre" is no reading of "24 miesiące", nor "5 Jahre" of
  "Bluetooth 5.0").
* EAN: a run of 8 to 14 digits must be one of the source's.
* number: any other number ("Bluetooth 5.0", "EN 71", "45 x 30") must be a number of the source,
  as a decimal ("5,0" is "5"), read anywhere in its texts (inside codes and sizes too, and the number
  words two to twelve, "dwie kieszenie" grounds "2 Taschen"). One is exempt: languages count with it
  ("1 x Kabel").
* claim: a claim of `CLAIMS` in the output (warranty, new, original, certificates and marks,
  awards, free shipping, origin, waterproof, organic, BPA-free) must be one the source makes, in any
  language of the table.
* colour and material: a colour or material of `COLOURS` / `MATERIALS` the output names must be one
  the source names; a material grounds its family's name too (steel and aluminium ground "metal").
  German compounds are read: "dunkelblau" is blue, "silberfarben" silver, "Holzgriff" and
  "Buchenholz" wood.

Each fact counts once (its kind and value: "schwarz" twice is one fact). The score is

    score = 1 − 2 × (weight of the ungrounded facts) / (weight of the facts checked)

with brand, model number and EAN weighing 2 (they say which product it is) and every other fact 1,
clamped to −1…1 and rounded to 3 decimals: 1 when every fact is grounded, 0 when half the weight is
not, −1 when none is (the scale of Google FeedGen's grounding score). No fact at all scores 1.
`reasons` names each ungrounded fact as written, and what the source states instead where it can.

Copy with any ungrounded fact is refused (`grounding_problem`): one invented warranty is one too
many, however faithful the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from services.ai.prompts import SourceProduct
from services.normalize.extract import KNOWN_BRANDS
from services.normalize.units import Quantity, find_quantities, parse_quantity

MAX_REASONS = 12  # listed in a refusal; the count of the others follows

# Facts that say which product it is weigh more than the others.
WEIGHTS = {"brand": 2, "model number": 2, "EAN": 2}

# Claims the output may make only when the source does: (id, what matches it, case-insensitive,
# in German, Polish and English). A table of claims, not of translations.
CLAIMS: tuple[tuple[str, str], ...] = (
    ("warranty", r"\w*garantie\w*|gewährleistung\w*|gwarancj\w*|gwarantowan\w*|warrant\w*|guarantee\w*"),
    ("new", r"neu|neue[mnrs]?|brandneu\w*|fabrikneu\w*|nagelneu\w*|neuware|nowy|nowa|nowe|nowego|nową"
            r"|nowym|nowej|nowych|new|brand-new"),
    ("original", r"original\w*|oryginaln\w*|oryginał\w*|genuine|authentic|authentisch\w*"),
    ("certificate", r"\w*zertifi\w*|certyfik\w*|certifi\w*|atest\w*"),
    ("CE mark", r"ce"),
    ("TÜV or GS mark", r"tüv\w*|gs"),
    ("OEKO-TEX", r"oeko-?tex\w*|öko-?tex\w*"),
    ("FSC", r"fsc"),
    ("award", r"testsieger\w*|\w*auszeichnung\w*|preisgekrönt\w*|awards?|nagrod\w*|nagrodzon\w*"
              r"|laureat\w*|bestseller\w*"),
    ("free shipping", r"versandkostenfrei\w*|gratisversand|kostenlose[mnrs]?\s+(?:versand|lieferung)"
                      r"|darmow\w*\s+(?:dostaw\w*|wysyłk\w*)|(?:wysyłk\w*|dostaw\w*)\s+gratis"
                      r"|free\s+(?:shipping|delivery)"),
    ("origin", r"made\s+in|hergestellt\s+in|produziert\s+in|wyprodukowan\w*\s+w|produkcj\w*\s+polsk\w*"
               r"|polsk\w*\s+produk\w*"),
    ("waterproof", r"wasserdicht\w*|wasserfest\w*|wasserabweisend\w*|wodoodporn\w*|wodoszczeln\w*"
                   r"|waterproof|water-resistant|water\s+resistant"),
    ("organic", r"bio|bio-\w+|biobaumwoll\w*|öko|öko-\w+|ökologisch\w*|ekologiczn\w*|organic|eco"
                r"|umweltfreundlich\w*"),
    ("BPA-free", r"bpa"),
)  # fmt: skip

# Colours and materials: id → (German, Polish, English) stems. A German stem takes the endings
# -e -en -er -es -em, a Polish one the adjective and noun endings (-y -a -e -ego -ej -ą -ych -o -u…),
# an English one -s; a word is the fact when it is a stem with one of its language's endings.
COLOURS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "black": (("schwarz",), ("czarn",), ("black",)),
    "white": (("weiss",), ("biał", "biel"), ("white",)),  # stems are case-folded: "Weiß" is "weiss"
    "grey": (("grau", "anthrazit", "graphit"), ("szar", "grafit", "grafitow", "antracyt", "antracytow"),
             ("grey", "gray", "graphite", "anthracite")),
    "silver": (("silber", "silbern"), ("srebrn", "srebr"), ("silver",)),
    "gold": (("gold", "golden"), ("złot",), ("gold", "golden")),
    "red": (("rot",), ("czerwon",), ("red",)),
    "green": (("grün",), ("zielon",), ("green",)),
    "blue": (("blau", "marineblau", "navy"), ("niebiesk", "granatow", "błękitn"), ("blue", "navy")),
    "yellow": (("gelb",), ("żółt",), ("yellow",)),
    "orange": (("orange",), ("pomarańczow",), ("orange",)),
    "pink": (("rosa", "pink"), ("różow",), ("pink",)),
    "purple": (("lila", "violett"), ("fioletow", "liliow"), ("purple", "violet")),
    "brown": (("braun",), ("brązow",), ("brown",)),
    "beige": (("beige",), ("beżow",), ("beige",)),
    "turquoise": (("türkis",), ("turkusow",), ("turquoise",)),
    "multicoloured": (("bunt", "mehrfarbig", "farbenfroh"), ("kolorow", "wielokolorow", "wielobarwn"),
                      ("multicolour", "multicolor", "multicoloured", "multicolored", "colourful",
                       "colorful")),
    "transparent": (("transparent", "durchsichtig"), ("przezroczyst", "transparentn"), ("transparent",)),
}  # fmt: skip
MATERIALS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "wood": (("holz", "hölzern"), ("drewn", "drewnian"), ("wood", "wooden")),
    "bamboo": (("bambus",), ("bambus", "bambusow"), ("bamboo",)),
    "metal": (("metall",), ("metal", "metalow"), ("metal",)),
    "steel": (("stahl", "edelstahl"), ("stal", "stalow", "nierdzewn"), ("steel", "stainless")),
    "aluminium": (("aluminium", "alu"), ("aluminium", "aluminiow"), ("aluminium", "aluminum")),
    "iron": (("eisen", "gusseisen"), ("żelaz", "żeliw", "żeliwn"), ("iron",)),
    "plastic": (("kunststoff", "plastik", "polypropylen", "polyethylen", "abs", "pvc"),
                ("plastik", "plastikow", "tworzyw", "polipropylen", "polietylen", "abs", "pvc", "pp"),
                ("plastic", "polypropylene", "polyethylene")),
    "glass": (("glas", "gläsern"), ("szkł", "szkl", "szklan"), ("glass",)),
    "leather": (("leder", "ledern", "kunstleder", "echtleder", "lederimitat"), ("skór", "skórzan", "ekoskór"),
                ("leather",)),
    "cotton": (("baumwolle", "baumwoll"), ("bawełn", "bawełnian"), ("cotton",)),
    "wool": (("wolle", "schurwolle"), ("wełn", "wełnian"), ("wool", "woollen", "woolen")),
    "polyester": (("polyester",), ("poliester", "poliestr", "poliestrow"), ("polyester",)),
    "nylon": (("nylon",), ("nylon", "nylonow"), ("nylon",)),
    "silicone": (("silikon",), ("silikon", "silikonow"), ("silicone",)),
    "rubber": (("gummi", "kautschuk"), ("gum", "gumow", "kauczuk"), ("rubber",)),
    "rattan": (("rattan", "polyrattan"), ("rattan", "rattanow", "technorattan", "polirattan"), ("rattan",)),
    "ceramic": (("keramik",), ("ceramik", "ceramiczn"), ("ceramic", "ceramics")),
}  # fmt: skip
# A material named by the source grounds its family's name in the output: steel is metal.
MATERIAL_FAMILIES = {"steel": "metal", "aluminium": "metal", "iron": "metal"}
# German stems that start or end a compound ("Holzgriff", "Buchenholz"), and the words that make a
# colour darker or lighter ("dunkelblau", "ciemnoszary") or a colour of a word ("silberfarben").
COMPOUND_STEMS = (
    "holz", "bambus", "metall", "stahl", "aluminium", "kunststoff", "plastik", "glas", "leder",
    "baumwoll", "baumwolle", "woll", "wolle", "polyester", "nylon", "silikon", "gummi", "rattan", "keramik",
)  # fmt: skip
COLOUR_MODIFIERS = ("dunkel", "hell", "tief", "matt", "pastell", "neon", "zart", "ciemno", "jasno")
COLOUR_SUFFIXES = ("farben", "farbig", "farbe", "ton")
# Words that a stem and an ending make but that mostly say something else: Polish "stale"
# (constantly), "złotych" (of the currency), "rota" (a company); German "Grauen" (horror).
NOT_FACTS = frozenset({"stale", "złotych", "rota", "grauen"})
_MIN_COMPOUND_PART = 3  # letters the other part of a compound has at least ("Glasur" is no glass)

_ENDINGS = (
    ("", "e", "en", "er", "es", "em"),  # German
    ("", "y", "a", "e", "ego", "ej", "emu", "ym", "ą", "ę", "ych", "ymi", "i", "ie", "ich", "im", "imi",
     "iego", "iej", "iemu", "o", "u", "em", "iem", "ze"),  # Polish
    ("", "s"),  # English
)  # fmt: skip

# Units of time: (kind, factor to the kind's base unit, spellings). Months and years are counted in
# months, the rest in seconds.
DURATION_UNITS: tuple[tuple[str, int, str], ...] = (
    ("time", 1, r"sek(?:und\w*)?|sec|seconds?"),
    ("time", 60, r"min(?:ut\w*)?|minuten?|minutes?"),
    ("time", 3600, r"h|hrs?|godz(?:in\w*)?|stunde\w*|std|hours?"),
    ("time", 86_400, r"dni|dzień|dnia|tage?n?|days?"),
    ("time", 604_800, r"tydzień|tygodn\w*|woche\w*|weeks?"),
    ("calendar", 1, r"miesi\w*|mies|monat\w*|months?"),
    ("calendar", 12, r"rok|roku|lat|lata|latach|jahr\w*|jähr\w*|years?"),
)
_DURATION_RE = re.compile(
    r"(?<![\w.,])(?P<number>\d+(?:[.,]\d+)?)(?:\s?-\s?|\s?)(?P<unit>"
    + "|".join(f"(?P<u{i}>{spellings})" for i, (_, _, spellings) in enumerate(DURATION_UNITS))
    + r")(?![^\W\d_])",
    re.IGNORECASE,
)
_CLAIM_RES = tuple((claim, re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)) for claim, pattern in CLAIMS)
# Number words of the source ("dwie kieszenie", "zwei Taschen"), two to twelve.
_NUMBER_WORDS = {
    word: Decimal(value)
    for value, words in (
        (2, "dwa dwie dwóch dwoma zwei two"), (3, "trzy trzech trzema drei three"),
        (4, "cztery czterech vier four"), (5, "pięć pięciu fünf five"), (6, "sześć sześciu sechs six"),
        (7, "siedem siedmiu sieben seven"), (8, "osiem ośmiu acht eight"), (9, "dziewięć neun nine"),
        (10, "dziesięć zehn ten"), (11, "jedenaście elf eleven"), (12, "dwanaście zwölf twelve"),
    )
    for word in words.split()
}  # fmt: skip

_TOKEN_RE = re.compile(r"[^\W_]+(?:(?:[-./]|,(?=\d))[^\W_]+)*")
_WORD_RE = re.compile(r"[^\W\d_]+")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
_NUMBER_WITH_UNIT_RE = re.compile(r"(?P<number>\d+(?:[.,]\d+)?)[^\W\d_]{1,4}")
_NOT_ALNUM_RE = re.compile(r"[\W_]+")
_EAN_DIGITS = range(8, 15)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Grounding:
    score: float  # −1…1, see the module's docstring
    reasons: list[str] = field(default_factory=list)  # each ungrounded fact, in the order they come
    checked: int = 0  # facts checked


@dataclass(frozen=True, slots=True)
class _Fact:
    kind: str  # brand, model number, size, duration, EAN, number, claim, colour, material
    key: object  # what compares: the same fact written twice (or in two languages) has one key
    written: str  # as the output writes it


def grounding_score(output_text: str, source: SourceProduct) -> Grounding:
    """How much of the output's facts the source states (module docstring)."""
    known = _source_facts(source)
    found = list(_output_facts(output_text))
    if known.brand and (named := known.brand_re.search(output_text)):  # the source's own brand
        found.append(_Fact("brand", known.brand, named[0]))
    first: dict[tuple[str, object], _Fact] = {}
    for fact in found:
        first.setdefault((fact.kind, fact.key), fact)  # each fact once, as it is first written
    facts = list(first.values())
    if not facts:
        return Grounding(1.0, [], 0)
    reasons = []
    total = ungrounded = 0
    for fact in facts:
        weight = WEIGHTS.get(fact.kind, 1)
        total += weight
        if (hint := known.check(fact)) is not None:
            ungrounded += weight
            reasons.append(f"{fact.kind} '{fact.written[:60]}'{hint}")
    score = max(-1.0, min(1.0, 1 - 2 * ungrounded / total))
    return Grounding(round(score, 3), reasons, len(facts))


def grounding_problem(grounding: Grounding) -> str | None:
    """Why the copy is refused: its ungrounded facts; None when every fact is grounded."""
    if not grounding.reasons:
        return None
    shown = "; ".join(grounding.reasons[:MAX_REASONS])
    more = len(grounding.reasons) - MAX_REASONS
    return (
        f"ungrounded: not in the source: {shown}{f'; and {more} more' if more > 0 else ''} "
        f"(grounding {grounding.score})"
    )


def _output_facts(text: str) -> Iterator[_Fact]:
    """Every fact of the text (repeats too), kind by kind: brands, then sizes, durations, model
    numbers, EANs and numbers in the order they come, claims, colours and materials."""
    for token in _TOKEN_RE.findall(text):
        if (brand := KNOWN_BRANDS.get(token.casefold())) is not None:
            yield _Fact("brand", brand.casefold(), token)
    yield from _numeric_facts(text)
    for claim, pattern in _CLAIM_RES:
        if found := pattern.search(text):
            yield _Fact("claim", claim, found[0])
    for word in _WORD_RE.findall(text):
        if (named := word_fact(word)) is not None:
            yield _Fact(named[0], named[1], word)


@lru_cache(maxsize=8192)
def word_fact(word: str) -> tuple[str, str] | None:
    """("colour", id) or ("material", id) of a word of any language of the tables, else None."""
    folded = word.casefold()
    if folded in NOT_FACTS:
        return None
    if (exact := _WORD_FACTS.get(folded)) is not None:
        return exact
    for modifier in COLOUR_MODIFIERS:
        if folded.startswith(modifier) and (rest := _WORD_FACTS.get(folded[len(modifier) :])):
            return rest if rest[0] == "colour" else None
    for suffix in COLOUR_SUFFIXES:
        if folded.endswith(suffix) and (head := _WORD_FACTS.get(folded[: -len(suffix)])):
            return head if head[0] == "colour" else None
    stems = [stem for stem in COMPOUND_STEMS if _compounds(folded, stem)]
    if not stems:
        return None
    longest = max(stems, key=len)  # "Biobaumwolle" is cotton, not wool
    return _WORD_FACTS.get(longest) or _WORD_FACTS.get(longest + "e")


def _compounds(word: str, stem: str) -> bool:
    """The word is a German compound starting or ending with the stem (and an ending)."""
    if word.startswith(stem) and len(word) - len(stem) >= _MIN_COMPOUND_PART:
        return True
    return any(
        word.endswith(stem + ending) and len(word) - len(stem + ending) >= _MIN_COMPOUND_PART
        for ending in _ENDINGS[0]
    )


def _numeric_facts(text: str) -> Iterator[_Fact]:
    """Sizes, durations, model numbers, EANs and numbers, in the order they come."""
    spans: list[tuple[int, int, _Fact]] = []
    at = 0
    for written, quantity in find_quantities(text):
        start = text.find(written, at)
        if start < 0:  # pragma: no cover - find_quantities gives text it read, in order
            continue
        at = start + len(written)
        spans.append((start, at, _Fact("size", quantity, written)))
    for match in _DURATION_RE.finditer(text):
        if any(start < match.end() and match.start() < end for start, end, _ in spans):
            continue
        spans.append((match.start(), match.end(), _Fact("duration", _duration(match), match[0])))
    tokens: list[tuple[int, int, _Fact]] = []
    for match in _TOKEN_RE.finditer(text):
        token = match[0]
        if not any(ch.isdigit() for ch in token):
            continue
        inside = any(start < match.end() and match.start() < end for start, end, _ in spans)
        if _is_code(token):
            tokens.append((match.start(), match.end(), _Fact("model number", _compact(token), token)))
            # a size or duration inside a code is the code's ("8/128GB")
            spans = [s for s in spans if not (match.start() <= s[0] and s[1] <= match.end())]
        elif not inside:
            tokens.extend((match.start(), match.end(), fact) for fact in _number_facts(token))
    for _, _, fact in sorted([*spans, *tokens], key=lambda span: span[0]):
        yield fact


def _number_facts(token: str) -> Iterator[_Fact]:
    """A number ("5.0"), an EAN ("4548736112100"), a number with a short unit that is no size
    ("5G": its number), or numbers joined to words ("2-in-1": 2)."""
    if _NUMBER_RE.fullmatch(token):
        if token.isdigit() and len(token) in _EAN_DIGITS:
            yield _Fact("EAN", token, token)
        elif (value := _decimal(token)) != _ONE:
            yield _Fact("number", value, token)
        return
    for part in _NUMBER_RE.findall(token):
        if (value := _decimal(part)) != _ONE:
            yield _Fact("number", value, part)


def _is_code(token: str) -> bool:
    """Letters and digits mixed, not a number with a short unit ("30h", "128GB", "5G"), nor numbers
    joined to plain words ("2-in-1", "3-teilig")."""
    if not any(ch.isalpha() for ch in token) or _NUMBER_WITH_UNIT_RE.fullmatch(token):
        return False
    parts = token.split("-")
    return len(parts) == 1 or not all(_NUMBER_RE.fullmatch(p) or _is_plain_word(p) for p in parts)


def _is_plain_word(part: str) -> bool:
    return part.isalpha() and len(part) >= 2 and not part.isupper()


def _duration(match: re.Match[str]) -> tuple[str, Decimal]:
    for i, (kind, factor, _) in enumerate(DURATION_UNITS):
        if match[f"u{i}"] is not None:
            return kind, _decimal(match["number"]) * factor
    raise AssertionError("a duration without a unit")  # pragma: no cover - the pattern has one


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", ".")).normalize()
    except InvalidOperation:  # pragma: no cover - only digits reach here
        return Decimal(0)


def _compact(text: str) -> str:
    return _NOT_ALNUM_RE.sub("", text.casefold())


class _SourceFacts:
    """What the source states, read once per source: the facts' keys and how they are written."""

    def __init__(self, source: SourceProduct) -> None:
        texts = [text for text in source.texts() if text]
        self.words = {token.casefold() for text in texts for token in _TOKEN_RE.findall(text)}
        self.words |= {word.casefold() for text in texts for word in _WORD_RE.findall(text)}
        self.codes = {_compact(token) for text in texts for token in _TOKEN_RE.findall(text)}
        self.compact_text = " ".join(_compact(text) for text in texts)
        self.digit_runs = {run for text in texts for run in re.findall(r"\d+", text)}
        self.numbers = {_decimal(run) for text in texts for run in _NUMBER_RE.findall(text)}
        self.numbers |= {_NUMBER_WORDS[w] for w in self.words if w in _NUMBER_WORDS}
        # whole numbers standing alone, without a unit ("3+", "Wiek: 3"): what may ground a duration
        # ("ab 3 Jahren")
        self.counts = {
            Decimal(token)
            for text in texts
            for token in _TOKEN_RE.findall(_without_units(text))
            if token.isdigit() and len(token) <= 4
        }
        quantities: dict[Quantity, str] = {}
        for text in texts:
            for written, quantity in find_quantities(text):
                quantities.setdefault(quantity, written)
        for spec in source.specifications:
            if (stated := parse_quantity(spec.value)) is not None:
                quantities.setdefault(stated, spec.value)
        self.quantities = quantities
        self.durations: dict[tuple[str, Decimal], str] = {}
        # the numbers the source gives with a unit of time, by kind: "24 miesiące" is no "24 Jahre"
        self.duration_numbers: set[tuple[str, Decimal]] = set()
        for text in texts:
            for match in _DURATION_RE.finditer(text):
                duration = _duration(match)
                self.durations.setdefault(duration, match[0])
                self.duration_numbers.add((duration[0], _decimal(match["number"])))
        joined = "\n".join(texts)
        self.claims = {claim for claim, pattern in _CLAIM_RES if pattern.search(joined)}
        named = [fact for text in texts for word in _WORD_RE.findall(text) if (fact := word_fact(word))]
        self.colours = {key for kind, key in named if kind == "colour"}
        self.materials = {key for kind, key in named if kind == "material"}
        self.materials |= {MATERIAL_FAMILIES[m] for m in self.materials if m in MATERIAL_FAMILIES}
        self.brand = (source.brand or "").strip().casefold()
        self.brand_re = re.compile(rf"(?<![^\W_]){re.escape(self.brand)}(?![^\W_])", re.IGNORECASE)

    def check(self, fact: _Fact) -> str | None:
        """None when the source states the fact, else what to say after it ("" or a hint)."""
        kind, key = fact.kind, fact.key
        if kind == "brand":
            return None if key in self.words or key == self.brand else ""
        if kind == "model number":
            code = str(key)
            return None if code in self.codes or (len(code) >= 6 and code in self.compact_text) else ""
        if kind == "size":
            assert isinstance(key, Quantity)
            if key in self.quantities:
                return None
            return _states(
                written for quantity, written in self.quantities.items() if quantity.unit == key.unit
            )
        if kind == "duration":
            assert isinstance(key, tuple)
            duration_kind, _ = key
            number = _decimal(_NUMBER_RE.findall(fact.written)[0])
            if key in self.durations or (
                number in self.counts and (duration_kind, number) not in self.duration_numbers
            ):
                return None
            return _states(written for (k, _), written in self.durations.items() if k == duration_kind)
        if kind == "EAN":
            return None if key in self.digit_runs else ""
        if kind == "number":
            return None if key in self.numbers else ""
        if kind == "claim":
            return None if key in self.claims else f" ({key})"
        if kind in ("colour", "material"):
            named = self.colours if kind == "colour" else self.materials
            if key in named:
                return None
            states = ", ".join(sorted(named)) if named else f"no {kind}"
            return f" ({key}; the source states {states})"
        raise AssertionError(f"not a kind of fact: {kind}")  # pragma: no cover


def _without_units(text: str) -> str:
    """The text without its sizes and durations."""
    text = _DURATION_RE.sub(" ", text)
    for written, _ in find_quantities(text):
        text = text.replace(written, " ", 1)
    return text


def _states(written: Iterable[str]) -> str:
    """ " (the source states '250 g')", or "" when it states none of the kind."""
    shown = list(dict.fromkeys(written))[:3]
    return " (the source states " + ", ".join(f"'{w}'" for w in shown) + ")" if shown else ""


@lru_cache(maxsize=256)  # a product is reviewed for each answer (a repair: twice), in each language
def _source_facts(source: SourceProduct) -> _SourceFacts:
    return _SourceFacts(source)


def _word_facts() -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for kind, entries in (("colour", COLOURS), ("material", MATERIALS)):
        for key, stems_by_language in entries.items():
            for stems, endings in zip(stems_by_language, _ENDINGS, strict=True):
                for stem in stems:
                    for ending in endings:
                        table.setdefault(stem + ending, (kind, key))
    return table


_WORD_FACTS = _word_facts()

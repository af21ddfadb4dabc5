"""How much of a model's copy is grounded in the source product: a score from −1 to +1. Pure: no I/O.

Rules:

* Text is read as tokens, case-folded: Unicode words and numbers ("5,0" is "5.0"); a quantity of
  `normalize.units` ("250 g", "0,25 kg", "1,5 m") is one token in its normalized unit ("250g",
  "1500mm"), so a converted size is still the source's size.
* Words compare by a crude stem: Polish and German inflection endings (-ami, -ych, -ego, -en, -er,
  -e, -y, -s…) are cut, one after the other, while four letters or more remain ("schwarzen" and
  "schwarz", "czarne" and "czarny" meet). Tokens with digits compare as they are.
* A token of the output is grounded when it is in the source (its title, the scraped title, brand,
  model, category, specification names and values, description, EAN; a source token mixing letters
  and digits also grounds its parts: "30h" grounds "30"), when it translates a source word
  (`TRANSLATIONS`, one table of Polish, German and English words that say the same: "słuchawki",
  "kopfhörer", "headset"), or when it is on the allow-list: function words and common listing words of
  the target language ("und", "mit", "für", "oraz", "dla"…), units and acronyms ("mm", "kg", "USB"),
  and single letters ("USB-C").
* score = 1 − 2 × ungrounded / counted, over every token of the output (repeats count each time),
  clamped to −1…1 and rounded to 3 decimals: 1 when every token is grounded, 0 when half is,
  −1 when none is (the scale of Google FeedGen's grounding score). No token at all scores 1.
* Copy scoring under `MIN_GROUNDING` (0.5, a quarter of the tokens ungrounded) is refused:
  `grounding_problem` says which words are not in the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from services.ai.prompts import SourceProduct
from services.normalize.descriptions import ACRONYMS
from services.normalize.units import find_quantities

MIN_GROUNDING = 0.5

# Words that say the same thing, in Polish, German and (where listings use it) English: a source word
# grounds every word of its row. Inflected forms meet through the stem, so one form per word suffices.
TRANSLATIONS: tuple[tuple[str, ...], ...] = (
    # product types
    ("słuchawki", "kopfhörer", "ohrhörer", "headset", "headphones"),
    ("głośnik", "lautsprecher", "speaker", "box"),
    ("telefon", "smartfon", "smartphone", "handy"),
    ("ładowarka", "ladegerät", "netzteil", "charger"),
    ("kabel", "przewód", "leitung", "cable"),
    ("etui", "pokrowiec", "hülle", "schutzhülle", "tasche", "case"),
    ("odkurzacz", "staubsauger"),
    ("czajnik", "wasserkocher"),
    ("ekspres", "kaffeemaschine", "kaffeevollautomat"),
    ("kawa", "kawy", "kaffee"),
    ("golarka", "rasierer"),
    ("suszarka", "haartrockner", "föhn", "trockner"),
    ("zegarek", "uhr", "armbanduhr", "watch"),
    ("mysz", "myszka", "maus", "mouse"),
    ("klawiatura", "tastatur", "keyboard"),
    ("drukarka", "drucker", "printer"),
    ("laptop", "notebook"),
    ("monitor", "bildschirm"),
    ("wkrętarka", "akkuschrauber", "schrauber"),
    ("wiertarka", "bohrmaschine"),
    ("lodówka", "kühlschrank"),
    ("pralka", "waschmaschine"),
    ("aparat", "kamera", "fotoapparat", "camera"),
    ("urządzenie", "sprzęt", "gerät", "device"),
    ("pilot", "fernbedienung"),
    ("uchwyt", "halterung", "halter", "griff"),
    ("obudowa", "gehäuse"),
    # parts and features
    ("ekran", "wyświetlacz", "bildschirm", "display", "anzeige", "screen"),
    ("bateria", "akumulator", "akku", "batterie", "battery"),
    ("mikrofon", "microphone", "mic"),
    ("pamięć", "speicher", "memory"),
    ("procesor", "prozessor"),
    ("dysk", "festplatte", "laufwerk"),
    ("złącze", "gniazdo", "anschluss", "buchse", "port"),
    ("łączność", "połączenie", "verbindung", "konnektivität"),
    ("funkcja", "funktion"),
    ("instrukcja", "anleitung", "bedienungsanleitung"),
    ("bezprzewodowe", "bezprzewodowy", "kabellos", "drahtlos", "wireless", "funk"),
    ("przewodowe", "przewodowy", "kabelgebunden"),
    ("redukcja", "reduzierung", "unterdrückung", "reduction"),
    ("szum", "szumów", "geräusch", "geräuschunterdrückung", "rauschunterdrückung", "lärm", "noise",
     "cancelling", "canceling"),
    ("aktywna", "aktywny", "aktiv", "active"),
    ("składane", "składany", "faltbar", "klappbar", "zusammenklappbar", "foldable"),
    ("nauszne", "nauszny", "over", "on", "ear", "ohrumschließend"),
    ("douszne", "dokanałowe", "in", "ear", "ohr"),
    ("wodoodporny", "wodoodporne", "wasserdicht", "wasserfest", "waterproof"),
    ("szybkie", "szybki", "schnell", "fast"),
    ("ładowanie", "laden", "aufladen", "ladung", "charging"),
    ("zasilanie", "stromversorgung", "versorgung"),
    # colours
    ("czarny", "schwarz", "black"),
    ("biały", "weiß", "weiss", "white"),
    ("srebrny", "silber", "silbern", "silver"),
    ("szary", "grau", "grey", "gray"),
    ("niebieski", "blau", "blue"),
    ("granatowy", "dunkelblau", "navy"),
    ("czerwony", "rot", "red"),
    ("zielony", "grün", "green"),
    ("różowy", "rosa", "pink"),
    ("złoty", "gold", "golden"),
    # materials
    ("stal", "stahl", "steel"),
    ("nierdzewna", "edelstahl", "rostfrei"),
    ("plastik", "tworzywo", "kunststoff", "plastic"),
    ("szkło", "glas", "glass"),
    ("drewno", "holz", "wood"),
    ("aluminium", "alu"),
    # measures and listing facts
    ("waga", "gewicht", "weight"),
    ("kolor", "farbe", "color", "colour"),
    ("moc", "leistung", "power"),
    ("pojemność", "kapazität", "fassungsvermögen", "capacity"),
    ("długość", "länge", "lang"),
    ("szerokość", "breite", "breit"),
    ("wysokość", "höhe", "hoch"),
    ("rozmiar", "größe", "size"),
    ("czas", "zeit", "dauer", "laufzeit"),
    ("praca", "pracy", "betrieb", "betriebszeit", "laufzeit", "akkulaufzeit"),
    ("godzina", "godzin", "godz", "stunden", "stunde", "std"),
    ("minuta", "minut", "minuten"),
    ("gwarancja", "garantie", "herstellergarantie", "warranty"),
    ("miesiąc", "miesiące", "miesięcy", "monate", "monat", "months"),
    ("rok", "lata", "lat", "jahr", "jahre", "years"),
    ("zestaw", "zestawie", "set", "lieferumfang", "kit"),
    ("sztuk", "szt", "stück", "stk"),
    ("nowy", "neu", "new"),
    ("oryginalny", "original"),
    ("typ", "rodzaj", "art", "type"),
    ("dzieci", "kinder"),
    ("kuchnia", "küche"),
    ("dom", "haus", "zuhause"),
)  # fmt: skip

_FUNCTION_WORDS = {
    "de": """der die das den dem des ein eine einen einem einer eines und oder mit ohne für von vom zu
        zum zur im in ins ist sind bei beim bis auf aus an am als auch wie so sehr noch nur durch dank
        damit dass es sie er wir ihr ihre ihren ihrem ihrer sein seine seinen seinem seiner dieser diese
        dieses diesem diesen jeder jede jedes alle allen nicht kein keine mehr über unter nach vor pro je
        sowie bzw ca etwa können kann wird werden hat haben bietet sorgt ermöglicht macht lässt sich
        man hier dabei zudem außerdem sowohl dadurch ganz""",
    "pl": """i w we z ze na do dla o od po za oraz lub albo to jest są się nie tak jak co który która
        które którego przez przy bez pod nad ten ta te tego tej jego jej ich a ale czy także również
        już np ok około każdy każda każde można może ma mają zapewnia pozwala umożliwia dzięki bardzo""",
}
_LISTING_WORDS = {
    "de": """farbe modell marke produkt artikel set lieferumfang enthalten inklusive inkl eigenschaften
        merkmale technische daten details material gewicht maße abmessungen größe zubehör hersteller
        typ ausführung version funktion anschluss verbindung nutzung verwendung unterwegs alltag
        geeignet design bedienung zustand""",
    "pl": """kolor model marka produkt zestaw zawartość opis cechy specyfikacja dane techniczne parametry
        waga wymiary rozmiar materiał producent typ rodzaj wersja funkcja złącze łączność stan
        użytkowanie codzienne sztuk szt kod""",
}
_NEUTRAL_WORDS = """mm cm m km kg g dag mg ml l w kw v mv mah ah wh gb tb mb kb hz khz mhz ghz db h min s
    x ean gtin bluetooth wifi wi fi usb type zoll cal"""

_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")
_PARTS_RE = re.compile(r"\d+|[^\W\d_]+")
# Polish and German inflection endings, the longest tried first.
_ENDINGS = ("ami", "ach", "ego", "emu", "ych", "ymi", "imi", "ów", "om", "ej", "ym", "ie", "en", "er", "em",
            "es", "ą", "ę", "a", "e", "i", "y", "o", "u", "n", "s")  # fmt: skip
_MIN_STEM = 4


@dataclass(frozen=True, slots=True)
class Grounding:
    score: float  # −1…1, see the module's docstring
    ungrounded: list[str] = field(default_factory=list)  # each once, in the order they come
    counted: int = 0


def grounding_score(output_text: str, source: SourceProduct, language: str) -> Grounding:
    """How grounded the output is in the source, for copy in `language` ("de", "pl")."""
    grounded = _source_keys(source)
    allowed = _allowed(language)
    ungrounded: list[str] = []
    tokens = tokenize(output_text)
    for token in tokens:
        key = stem(token)
        if key not in grounded and key not in allowed and not (token.isalpha() and len(token) == 1):
            ungrounded.append(token)
    if not tokens:
        return Grounding(1.0, [], 0)
    score = max(-1.0, min(1.0, 1 - 2 * len(ungrounded) / len(tokens)))
    return Grounding(round(score, 3), list(dict.fromkeys(ungrounded)), len(tokens))


def grounding_problem(grounding: Grounding) -> str | None:
    """Why the copy is refused, or None when it scores at least MIN_GROUNDING."""
    if grounding.score >= MIN_GROUNDING:
        return None
    words = ", ".join(grounding.ungrounded[:15])
    more = f" and {len(grounding.ungrounded) - 15} more" if len(grounding.ungrounded) > 15 else ""
    return (
        f"ungrounded: words not in the source: {words}{more} "
        f"(grounding {grounding.score}, at least {MIN_GROUNDING})"
    )


def tokenize(text: str) -> list[str]:
    """The text's tokens, case-folded; quantities as one token in their normalized unit."""
    tokens: list[str] = []
    at = 0
    for written, quantity in find_quantities(text):
        start = text.find(written, at)
        if start < 0:  # pragma: no cover - find_quantities gives text it read, in order
            continue
        tokens += _plain_tokens(text[at:start])
        tokens.append(f"{quantity.value}{quantity.unit}".casefold())
        at = start + len(written)
    return tokens + _plain_tokens(text[at:])


def stem(word: str) -> str:
    """The word without its inflection endings, cut while four letters or more remain."""
    if not word.isalpha():
        return word
    cut = True
    while cut:
        cut = False
        for ending in _ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
                word = word[: -len(ending)]
                cut = True
                break
    return word


def _plain_tokens(text: str) -> list[str]:
    return [token.replace(",", ".") for token in _TOKEN_RE.findall(text.casefold())]


def _source_keys(source: SourceProduct) -> set[str]:
    keys: set[str] = set()
    for text in source.texts():
        for token in tokenize(text):
            keys.add(stem(token))
            if not token.isalpha() and not token.replace(".", "").isdigit():
                keys.update(stem(part) for part in _PARTS_RE.findall(token))  # "30h": "30", "h"
        for token in _plain_tokens(text):  # "250 g" also as "250" and "g"
            keys.add(stem(token))
    for key in list(keys):
        keys |= _TRANSLATED.get(key, frozenset())
    return keys


def _stems(words: Iterable[str]) -> frozenset[str]:
    return frozenset(stem(word.casefold()) for word in words)


def _translations() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for row in TRANSLATIONS:
        stems = _stems(row)
        for key in stems:
            table[key] = table.get(key, frozenset()) | stems
    return table


_TRANSLATED = _translations()


@lru_cache(maxsize=16)
def _allowed(language: str) -> frozenset[str]:
    words = [*_NEUTRAL_WORDS.split(), *(acronym.casefold() for acronym in ACRONYMS)]
    words += _FUNCTION_WORDS.get(language, "").split() + _LISTING_WORDS.get(language, "").split()
    return _stems(words)

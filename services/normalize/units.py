"""Read quantities such as "0,5 kg", "128GB" or "15,6\"" and convert them to one unit per kind.

Rules:

* A number (decimal comma or point; thousands may be grouped by spaces: "2 200 W"), optional white
  space, then a unit in any letter case, except "g", which must be lower case: "5G" is a network.
* Converted to: mass → g (mg, g, dag, dkg, kg), volume → ml (ml, cl, dl, l), storage → GB (MB, GB,
  TB), power → W (mW, W, kW), voltage → V (mV, V), length → mm (mm, cm, m), battery charge → mAh
  (mAh, Ah), and screen sizes in inches → in (", '', ″, in, cal, cali).
* Storage counts in powers of two, as the brief's convention: 1 TB = 1024 GB, 512 MB = 0.5 GB.
* Values are exact decimals without trailing zeros: "0,05 l" → 50 ml, "1,50 kg" → 1500 g.

`parse_quantity` reads text that is one quantity and nothing else (None otherwise). `find_quantities`
finds the quantities inside longer text such as a title, where numbers are not space-grouped and
ambiguity means no quantity: a three-digit number after a short number ("2 200 W", "8 128GB") could
be either, so it is skipped; "in" is not a unit ("2 in 1"), nor is "w" apart from its number ("2 w 1").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

_ONE = Decimal(1)

# Spelling, in lower case → (normalized unit, factor).
_UNITS: dict[str, tuple[str, Decimal]] = {
    "mg": ("g", Decimal("0.001")), "g": ("g", _ONE), "dag": ("g", Decimal(10)), "dkg": ("g", Decimal(10)),
    "kg": ("g", Decimal(1000)),
    "ml": ("ml", _ONE), "cl": ("ml", Decimal(10)), "dl": ("ml", Decimal(100)), "l": ("ml", Decimal(1000)),
    "mb": ("GB", _ONE / 1024), "gb": ("GB", _ONE), "tb": ("GB", Decimal(1024)),
    "mw": ("W", Decimal("0.001")), "w": ("W", _ONE), "kw": ("W", Decimal(1000)),
    "mv": ("V", Decimal("0.001")), "v": ("V", _ONE),
    "mm": ("mm", _ONE), "cm": ("mm", Decimal(10)), "m": ("mm", Decimal(1000)),
    "mah": ("mAh", _ONE), "ah": ("mAh", Decimal(1000)),
    '"': ("in", _ONE), "''": ("in", _ONE), "″": ("in", _ONE), "cali": ("in", _ONE), "cal": ("in", _ONE),
    "in": ("in", _ONE),
}  # fmt: skip

# What each normalized unit measures, for naming specifications.
UNIT_KINDS = {
    "g": "weight", "ml": "volume", "GB": "storage", "W": "power", "V": "voltage", "mm": "length",
    "mAh": "battery capacity", "in": "diagonal",
}  # fmt: skip

_SPACES = "[\x20\u00a0\u202f]"
_SPACES_RE = re.compile(_SPACES)
_PLAIN_NUMBER = r"(?P<number>\d+(?:[.,]\d+)?)"
_NUMBER = rf"(?P<number>\d{{1,3}}(?:{_SPACES}\d{{3}})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"


def _units_pattern(*, exclude: frozenset[str] = frozenset()) -> str:
    spellings = sorted((unit for unit in _UNITS if unit not in exclude), key=len, reverse=True)
    alternatives = ["(?-i:g)" if unit == "g" else re.escape(unit) for unit in spellings]
    return f"(?P<unit>{'|'.join(alternatives)})"


_QUANTITY_RE = re.compile(rf"{_NUMBER}\s*{_units_pattern()}", re.IGNORECASE)
# Inside text: not glued to a word before, and a letter unit not followed by more letters or digits.
_SEARCH_RE = re.compile(
    rf"(?<![\w.,]){_PLAIN_NUMBER}(?P<space>\s?){_units_pattern(exclude=frozenset({'in'}))}(?![^\W_])",
    re.IGNORECASE,
)
# A lone number of up to three digits and a space: what comes next may be its thousands.
_GROUP_HEAD_RE = re.compile(rf"(?:^|[\s(])\d{{1,3}}{_SPACES}$")


@dataclass(frozen=True, slots=True)
class Quantity:
    value: Decimal
    unit: str

    def __str__(self) -> str:
        return f"{self.value} {self.unit}"


# Attribute values repeat across a seller's products ("24 miesiące", "Bluetooth 5.0"): parse each once.
# Pure and returning frozen values, so caching changes no result.
@lru_cache(maxsize=8192)
def parse_quantity(text: str) -> Quantity | None:
    """The quantity the text states ("0,5 kg" → 500 g), or None when it is not exactly one quantity."""
    match = _QUANTITY_RE.fullmatch(text.strip())
    return _quantity(match) if match else None


def find_quantities(text: str) -> list[tuple[str, Quantity]]:
    """Each quantity in longer text, with the text it was read from: "8/128GB" → [("128GB", 128 GB)]."""
    return [(match[0], _quantity(match)) for match in _SEARCH_RE.finditer(text) if not _ambiguous(match)]


def _ambiguous(match: re.Match[str]) -> bool:
    if match["unit"] == "w" and match["space"]:
        return True  # Polish "w" (in): "odkurzacz 2 w 1"
    start = match.start()
    return len(match["number"].split(".")[0].split(",")[0]) == 3 and bool(
        _GROUP_HEAD_RE.search(match.string, max(0, start - 5), start)
    )


def _quantity(match: re.Match[str]) -> Quantity:
    number = _SPACES_RE.sub("", match["number"]).replace(",", ".")
    unit, factor = _UNITS[match["unit"].lower()]
    return Quantity(_tidy(Decimal(number) * factor), unit)


def _tidy(value: Decimal) -> Decimal:
    """500.000 → 500 and 0.50 → 0.5, never the exponent form normalize() gives whole numbers (5E+2)."""
    return value.quantize(_ONE) if value == value.to_integral_value() else value.normalize()

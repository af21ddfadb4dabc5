"""Brand, model, category path and specifications of a product, each with how sure we are.

Confidence, from 0 (nothing found) to 1 (given by the seller in that very field):

* Brand: the `brand` field 1.0; else the attribute "Marka", "Brand", "Producent" or "Hersteller" 0.9;
  else, from the title, the first word that is a known brand (spelled as we know it: KNOWN_BRANDS and
  the seller's own, EXTRA_BRANDS) 0.5; else none. A capitalized word is not taken for a brand: Polish
  titles start with the product ("Plecak", "Kurtka"), and a wrong brand is worse than none.
  Placeholder values ("bez marki", "inna", "no name", "brak") are no brand.
* Model: the attribute "Model", "Kod producenta", "MPN", "Numer katalogowy" or "Part number" 0.9;
  else the first title token mixing letters and digits that is not a quantity ("128GB") or a
  network ("5G") 0.6.
* Category: the `category` field split on ">" (or "»", "›"; on "/" only when none of those occurs),
  parts trimmed, 1.0; none given: None, 0.
* Specifications: every attribute with a value, in the given order, its quantity read when the value
  is one ("350 g"), confidence 1.0; then each quantity found in the title that no attribute already
  states, named by what it measures ("storage"), confidence 0.6.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from services.normalize.titles import is_separator
from services.normalize.units import UNIT_KINDS, Quantity, find_quantities, parse_quantity

T = TypeVar("T")

BRAND_ATTRIBUTES = ("marka", "brand", "producent", "hersteller")
MODEL_ATTRIBUTES = ("model", "kod producenta", "mpn", "numer katalogowy", "part number")
KNOWN_BRANDS = {brand.casefold(): brand for brand in (
    "Acer", "Adidas", "AMD", "Amica", "Anker", "Apple", "Asus", "Baseus", "Beko", "Bosch", "Braun",
    "Canon", "Corsair", "Crucial", "Dell", "DeWalt", "Dyson", "Electrolux", "Garmin", "Gigabyte",
    "Google", "Gorenje", "HP", "Hisense", "Huawei", "HyperX", "Intel", "JBL", "Kingston", "Krups",
    "Kärcher", "Lego", "Lenovo", "LG", "Logitech", "Makita", "Microsoft", "Motorola", "MSI", "Nikon",
    "Nike", "Nintendo", "Nokia", "OnePlus", "Oppo", "Panasonic", "Philips", "Puma", "Razer", "Realme",
    "Rowenta", "Samsung", "SanDisk", "Seagate", "Sennheiser", "Sharp", "Siemens", "Sony", "SteelSeries",
    "TCL", "Tefal", "Toshiba", "TP-Link", "Ugreen", "Whirlpool", "Xiaomi", "Zelmer"
)}  # fmt: skip
PLACEHOLDERS = frozenset({"bez marki", "inna", "inny", "no name", "noname", "brak", "nie dotyczy", "-"})
_NETWORK_RE = re.compile(r"\d+G", re.IGNORECASE)
_CATEGORY_SPLIT_RE = re.compile(r"\s*[>»›]\s*")
_CATEGORY_SLASH_RE = re.compile(r"\s*/\s*")


@dataclass(frozen=True, slots=True)
class Guess(Generic[T]):
    value: T | None
    confidence: float
    source: str = ""  # where it was found, for people: "attribute 'Marka'"


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    value: str
    quantity: Quantity | None
    confidence: float = 1.0


def known_brands(extra: Iterable[str] = ()) -> Mapping[str, str]:
    """KNOWN_BRANDS and the seller's own (EXTRA_BRANDS), by their case-folded names."""
    return {**KNOWN_BRANDS, **{name.strip().casefold(): name.strip() for name in extra if name.strip()}}


def extract_brand(
    brand: str | None, attributes: Mapping[str, Any], title: str, known: Mapping[str, str] = KNOWN_BRANDS
) -> Guess[str]:
    if brand and brand.strip():
        return Guess(brand.strip(), 1.0, "brand field")
    if found := _attribute(attributes, BRAND_ATTRIBUTES):
        return Guess(found[1], 0.9, f"attribute '{found[0]}'")
    words = [word.strip(".,;:!?()[]\"'") for word in title.split()]
    if found_brand := next((known[w.casefold()] for w in words if w.casefold() in known), None):
        return Guess(found_brand, 0.5, "title, a known brand")
    return Guess(None, 0.0)


def extract_model(attributes: Mapping[str, Any], title: str) -> Guess[str]:
    if found := _attribute(attributes, MODEL_ATTRIBUTES):
        return Guess(found[1], 0.9, f"attribute '{found[0]}'")
    for token in title.split():
        word = token.strip(".,;:!?()[]\"'")
        has_letter, has_digit = any(c.isalpha() for c in word), any(c.isdigit() for c in word)
        if has_letter and has_digit and not _NETWORK_RE.fullmatch(word) and not find_quantities(word):
            return Guess(word, 0.6, "title, a model-like code")
    return Guess(None, 0.0)


def extract_category(category: str | None) -> Guess[tuple[str, ...]]:
    if not category or not category.strip():
        return Guess(None, 0.0)
    separator = _CATEGORY_SPLIT_RE if _CATEGORY_SPLIT_RE.search(category) else _CATEGORY_SLASH_RE
    parts = (part.strip() for part in separator.split(category))
    path = tuple(part for part in parts if part and not is_separator(part))
    return Guess(path or None, 1.0 if path else 0.0, "category field")


def extract_specifications(attributes: Mapping[str, Any], title: str) -> list[Spec]:
    specs = [
        Spec(name.strip(), value, parse_quantity(value))
        for name, raw in attributes.items()
        if name.strip() and (value := attribute_text(raw))
    ]
    stated = {spec.quantity for spec in specs if spec.quantity}
    for text, quantity in find_quantities(title):
        if quantity not in stated:
            stated.add(quantity)
            specs.append(Spec(UNIT_KINDS[quantity.unit], text, quantity, 0.6))
    return specs


def attribute_text(value: Any) -> str:
    """An attribute's value as text: lists joined with ", ", yes/no for booleans, "" for nothing."""
    if type(value) is str:  # most values: checked first (this runs for every attribute of every product)
        return " ".join(value.split())
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(filter(None, map(attribute_text, value)))
    if isinstance(value, float):
        value = Decimal(repr(value)) if math.isfinite(value) else None
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value, "f") if value.is_finite() else ""
        return text.rstrip("0").rstrip(".") if "." in text else text
    return " ".join(str(value).split())


def _attribute(attributes: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str, str] | None:
    """The first attribute, in the order of `names`, whose name matches (any case) and has a value."""
    by_name = {key.strip().casefold(): key for key in attributes}
    for name in names:
        if (key := by_name.get(name)) is not None:
            value = attribute_text(attributes[key])
            if value and value.casefold() not in PLACEHOLDERS:
                return key.strip(), value
    return None

"""The facts a rule may look at: one flat dict per product and target marketplace.

Rules:

* A condition names one of ``FIELDS``; any other name is refused when the rule is saved, so a typo
  never silently turns a rule off.
* Each field has a kind that decides the operators and values a condition may use with it:
  "text" (compared case-insensitively, surrounding white space ignored), "number" (an int, float or
  Decimal in the facts), "bool" and "text_list" (a list of names, such as the specifications).
* A fact may be None or left out when it is not known; the conditions module says how that counts.

The descriptions are written for sellers: the API documents the fields with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

FieldKind = Literal["text", "number", "bool", "text_list"]
FIELD_KINDS: tuple[FieldKind, ...] = get_args(FieldKind)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A fact a condition may name: its kind and what it means, in one line."""

    name: str
    kind: FieldKind
    description: str


FIELDS: Mapping[str, FieldSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            FieldSpec("marketplace", "text", 'the target marketplace, e.g. "amazon_de", "kaufland_de"'),
            FieldSpec("source", "text", 'where the product was scraped, e.g. "allegro"'),
            FieldSpec("title", "text", "the product's title as listed on the marketplace"),
            FieldSpec("brand", "text", 'the brand, e.g. "Sony"'),
            FieldSpec("model", "text", 'the model, e.g. "WH-1000XM4"'),
            FieldSpec("category", "text", 'the category path joined with " > ", e.g. "Alkohol > Wino"'),
            FieldSpec("ean", "text", "the EAN/GTIN as scraped"),
            FieldSpec("ean_valid", "bool", "whether the EAN has a valid length and check digit"),
            FieldSpec("currency", "text", 'the listing\'s currency, e.g. "EUR"'),
            FieldSpec("price", "number", "the listing price, in the marketplace's currency"),
            FieldSpec("price_status", "text", "the pricing result: priced, needs_review or no_price"),
            FieldSpec("cost", "number", "the product's cost, in the marketplace's currency"),
            FieldSpec(
                "margin_percent",
                "number",
                "the margin, in percent of the net price: (net price − marketplace fee − cost) / net price"
                " × 100, the net price being the price without VAT and the fee a percent of the price with"
                " VAT, as pricing computes it; missing when the price or the cost is unknown",
            ),
            FieldSpec("stock", "number", "units in stock at the source"),
            FieldSpec("quality_score", "number", "the listing's quality score, 0 to 100"),
            FieldSpec("grade", "text", "the quality grade, A (best) to E"),
            FieldSpec("images_count", "number", "how many images the listing has"),
            FieldSpec("competitors_count", "number", "how many competitor offers were found"),
            FieldSpec("specifications", "text_list", 'the names of the specifications given, e.g. "Kolor"'),
            FieldSpec(
                "language",
                "text",
                'the language the copy is written in, detected, e.g. "de"; missing when it cannot be told',
            ),
            FieldSpec(
                "language_matches",
                "bool",
                "whether the copy is in the marketplace's language; missing when it cannot be told",
            ),
        )
    }
)

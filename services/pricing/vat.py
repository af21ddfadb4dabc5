"""VAT: which rate is in a product's price on a marketplace, and gross to net and back.

Rules:

* Marketplace prices are gross: they include the VAT of the marketplace's country
  (services.marketplaces: amazon_de → DE, allegro_pl → PL). net = gross / (1 + VAT% / 100).
* The standard rate of each country is configuration (VAT_RATES, e.g. DE 19 %, PL 23 %). A pricing
  profile may set reduced rates per country and category (``{"DE": {"Bücher": 7}}``): a product
  whose category path contains the key's path (segments compared case-insensitively, without the
  spaces around them: "Bücher" matches "Medien > Bücher > Romane", "Medien > Bücher" too) takes
  that rate in that country. When several keys match, the one with the most segments wins, then the
  first in alphabetical order.
* A rate is a Decimal from 0 to below 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from services.marketplaces import MARKETPLACES, rules_for
from services.pricing.money import DECIMAL_CONTEXT, HUNDRED, format_percent, number_problem

_COUNTRY_LENGTH = 2


@dataclass(frozen=True, slots=True)
class VatRate:
    """The VAT in a product's prices in ``country``: ``category`` is the profile's reduced-rate key
    that set it, None for the country's standard rate."""

    country: str
    percent: Decimal
    category: str | None = None
    _text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if problem := vat_problem(f"the VAT rate of {self.country}", self.percent):
            raise ValueError(problem)
        reduced = f", reduced for {self.category}" if self.category is not None else ""
        # Made once: each price's explanation names its VAT three to five times.
        object.__setattr__(self, "_text", f"VAT {format_percent(self.percent)} ({self.country}{reduced})")

    def text(self) -> str:
        """ "VAT 19% (DE)", "VAT 7% (DE, reduced for Bücher)": as the explanation names it."""
        return self._text


def vat_problem(field: str, value: object) -> str | None:
    """What is wrong with a VAT rate, or None for a Decimal from 0 to below 100."""
    return number_problem(field, value, below=HUNDRED)


def country_problem(value: object) -> str | None:
    if isinstance(value, str) and len(value) == _COUNTRY_LENGTH and value.isascii() and value.isalpha():
        return None
    return f"a country must be a two-letter code such as DE, got {str(value)[:20]!r}"


def country_of(marketplace: str) -> str:
    """The country of a marketplace id; KeyError naming the known ones."""
    return rules_for(marketplace).country


def marketplace_countries() -> frozenset[str]:
    """Every country a marketplace of ours sells in: each needs a VAT rate."""
    return frozenset(rules.country for rules in MARKETPLACES.values())


def product_vat_rates(
    standard: Mapping[str, Decimal],
    reduced: Mapping[str, Mapping[str, Decimal]],
    category: str | None,
) -> dict[str, VatRate]:
    """The VAT rate of a product in every country that has one: the reduced rate of the profile's
    best-matching category key (module rules), else the standard rate."""
    path = _segments(category) if category else ()
    rates = {country.upper(): VatRate(country.upper(), percent) for country, percent in standard.items()}
    for country, by_category in reduced.items():
        if not path:
            break
        matching = [key for key in by_category if _contains(path, _segments(key))]
        if matching:
            best = min(matching, key=lambda key: (-len(_segments(key)), key))
            rates[country.upper()] = VatRate(country.upper(), by_category[best], best)
    return rates


def net_of(gross: Decimal, vat_percent: Decimal) -> Decimal:
    """The price without its VAT, not rounded."""
    with localcontext(DECIMAL_CONTEXT):
        return gross / (1 + vat_percent / HUNDRED)


def gross_of(net: Decimal, vat_percent: Decimal) -> Decimal:
    """The price with its VAT, not rounded."""
    with localcontext(DECIMAL_CONTEXT):
        return net * (1 + vat_percent / HUNDRED)


def _segments(path: str) -> tuple[str, ...]:
    return tuple(" ".join(part.split()).casefold() for part in path.split(">") if part.strip())


def _contains(path: tuple[str, ...], key: tuple[str, ...]) -> bool:
    """Whether `key`'s segments come, in a row, in `path`."""
    if not key:
        return False
    return any(path[start : start + len(key)] == key for start in range(len(path) - len(key) + 1))

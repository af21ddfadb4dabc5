"""A seller's pricing profile: how a product's price is chosen and the bounds it must keep.

Rules a profile must follow (PricingProfile refuses anything else, naming every problem at once,
each a ``Problem`` with the field it is about as data):

* ``strategy`` is one of "follow_lowest", "markup_cost" or "markup_source";
  ``fallback_strategy`` is None or another of them, different from ``strategy``.
* ``currency`` is the target currency, a three-letter code ("eur" is taken as "EUR").
* Money (``min_price``, ``max_price``, ``beat_by_amount``) is a Decimal in the target currency with
  at most 2 decimal places; bounds are above zero and ``min_price`` is not above ``max_price``.
* Percents are Decimals and never negative; ``beat_by_percent`` is below 100 (beating by 100% would
  give the product away), and so is ``margin_floor_percent`` (a margin is a share of the net price,
  services.pricing.margin).
* ``use_other_marketplaces`` is a bool (default False: a marketplace is priced from its own offers).
* ``category_vat_rates`` maps countries (two letters, "de" is taken as "DE") to category paths and
  their reduced VAT rate, a Decimal from 0 to below 100: ``{"DE": {"Bücher": Decimal(7)}}``.
* ``charm_ending`` is None or the cents a price should end in, 0 to 0.99 with at most 2 decimal
  places: 0.99 makes 287.57 into 286.99.
* Floats are refused: a price must not carry binary rounding error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, get_args

from services.pricing.money import ExchangeRates, currency_problem, format_money, number_problem, to_cents
from services.pricing.vat import country_problem, vat_problem

Strategy = Literal["follow_lowest", "markup_cost", "markup_source"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)

_HUNDRED = Decimal(100)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a profile is refused: ``loc``, the field's path ("min_price",) or
    ("marketplace_fees", "ebay_de"), and ``message``, why. The API answers with ``loc`` as it is,
    so rewording a message never moves a problem to another field."""

    loc: tuple[str, ...]
    message: str


class InvalidProfile(ValueError):
    """The profile cannot price anything; ``problems`` lists why, each with its field, in words a
    seller understands."""

    def __init__(self, name: object, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"pricing profile {name!r} is not valid: {'; '.join(self.messages)}")

    @property
    def messages(self) -> list[str]:
        return [problem.message for problem in self.problems]


@dataclass(frozen=True, slots=True)
class PricingProfile:
    """How to price: a strategy, its fallback, and the bounds the price must keep.

    * follow_lowest: the lowest counted competitor (in stock, not an outlier), beaten first by
      ``beat_by_percent`` and then by ``beat_by_amount`` (both 0: matched).
    * markup_cost: cost × (1 + ``markup_percent``/100).
    * markup_source: source price × (1 + ``markup_percent``/100).

    ``margin_floor_percent``: the price must leave this margin (services.pricing.margin: of the net
    price, after the marketplace's fee and the cost): floor = cost × (1 + VAT) / (1 − margin − fee ×
    (1 + VAT)), rounded up to the cent; 0 is cost + fee + VAT.
    ``min_source_percent``: when the cost is unknown, a price whose net is below this share of the
    source price's net needs review.
    ``use_other_marketplaces``: offers seen on other marketplaces count too, converted.
    ``category_vat_rates``: reduced VAT rates per country and category (services.pricing.vat).
    ``max_change_percent``: a price that moves further than this from the last price needs review.
    """

    name: str
    strategy: Strategy
    currency: str
    fallback_strategy: Strategy | None = None
    markup_percent: Decimal = Decimal(0)
    beat_by_amount: Decimal = Decimal(0)
    beat_by_percent: Decimal = Decimal(0)
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    margin_floor_percent: Decimal | None = None
    charm_ending: Decimal | None = None
    max_change_percent: Decimal | None = None
    use_other_marketplaces: bool = False
    min_source_percent: Decimal | None = None
    category_vat_rates: Mapping[str, Mapping[str, Decimal]] = dataclass_field(
        default_factory=lambda: MappingProxyType({})
    )

    def __post_init__(self) -> None:
        if isinstance(self.currency, str):
            object.__setattr__(self, "currency", self.currency.strip().upper())
        if isinstance(self.category_vat_rates, Mapping):
            object.__setattr__(self, "category_vat_rates", _normalized_rates(self.category_vat_rates))
        self.validate()

    def validate(self) -> None:
        """Raise InvalidProfile listing every problem, or return when the profile can be used."""
        if problems := self.problems():
            raise InvalidProfile(self.name, problems)

    def problems(self) -> list[Problem]:
        """Everything that makes this profile unusable, each with its field; empty when valid."""
        problems = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(Problem(("name",), "name must not be empty"))
        problems += _strategy_problems(self.strategy, self.fallback_strategy)
        if problem := currency_problem("currency", self.currency):
            problems.append(Problem(("currency",), problem))
        checks: list[tuple[str, Decimal | None, bool, Decimal | None, int | None]] = [
            # field, value, must be above zero, must be below, most decimal places
            ("markup_percent", self.markup_percent, False, None, None),
            ("beat_by_amount", self.beat_by_amount, False, None, 2),
            ("beat_by_percent", self.beat_by_percent, False, _HUNDRED, None),
            ("min_price", self.min_price, True, None, 2),
            ("max_price", self.max_price, True, None, 2),
            ("margin_floor_percent", self.margin_floor_percent, False, _HUNDRED, None),
            ("charm_ending", self.charm_ending, False, _ONE, 2),
            ("max_change_percent", self.max_change_percent, False, None, None),
            ("min_source_percent", self.min_source_percent, False, None, None),
        ]
        optional = {
            "min_price", "max_price", "margin_floor_percent", "charm_ending", "max_change_percent",
            "min_source_percent",
        }  # fmt: skip
        for field, value, positive, below, places in checks:
            if value is None and field in optional:
                continue
            if problem := number_problem(field, value, positive=positive, below=below, places=places):
                problems.append(Problem((field,), problem))
        bounds_usable = not any(p.loc in (("min_price",), ("max_price",)) for p in problems)
        minimum, maximum = self.min_price, self.max_price
        if bounds_usable and minimum is not None and maximum is not None and minimum > maximum:
            currency = self.currency if isinstance(self.currency, str) else ""
            problems.append(
                Problem(
                    ("min_price",),
                    f"min_price {format_money(minimum, currency)} is above "
                    f"max_price {format_money(maximum, currency)}",
                )
            )
        if not isinstance(self.use_other_marketplaces, bool):
            problems.append(
                Problem(("use_other_marketplaces",), "use_other_marketplaces must be true or false")
            )
        return problems + category_vat_problems(self.category_vat_rates)


def in_currency(profile: PricingProfile, currency: str, rates: ExchangeRates) -> PricingProfile:
    """The profile for a marketplace priced in `currency`: its amounts (bounds, beat-by amount)
    converted at `rates` and rounded to cents; percents and the charm ending stay as they are.
    Raises UnknownCurrency when a rate is missing."""
    target = currency.strip().upper()
    if target == profile.currency:
        return profile

    def convert(amount: Decimal | None) -> Decimal | None:
        return None if amount is None else to_cents(rates.convert(amount, profile.currency, target))

    beat_by = convert(profile.beat_by_amount)
    assert beat_by is not None
    return replace(
        profile,
        currency=target,
        beat_by_amount=beat_by,
        min_price=convert(profile.min_price),
        max_price=convert(profile.max_price),
    )


def category_vat_problems(value: object) -> list[Problem]:
    """What is wrong with reduced VAT rates per country and category; empty when they can be used."""
    field = "category_vat_rates"
    if not isinstance(value, Mapping):
        return [Problem((field,), f"{field} must be an object of countries to categories and rates")]
    problems = []
    for country, by_category in value.items():
        loc = (field, str(country)[:20])
        if problem := country_problem(country):
            problems.append(Problem(loc, f"{field}: {problem}"))
            continue
        if not isinstance(by_category, Mapping):
            problems.append(Problem(loc, f"{field}.{country} must be an object of categories to rates"))
            continue
        for category, rate in by_category.items():
            where = (*loc, str(category)[:100])
            if not isinstance(category, str) or not category.replace(">", "").strip():
                problems.append(Problem(where, f"{field}.{country}: a category must not be empty"))
            elif problem := vat_problem(f"{field}.{country}.{category[:100]}", rate):
                problems.append(Problem(where, problem))
    return problems


def _normalized_rates(rates: Mapping[Any, Any]) -> Mapping[str, Mapping[str, Decimal]]:
    """Countries upper-case and categories without the spaces around them, read-only; values that
    are not what they should be are kept as given, for category_vat_problems to name."""
    normalized: dict[Any, Any] = {}
    for country, by_category in rates.items():
        key = country.strip().upper() if isinstance(country, str) else country
        if isinstance(by_category, Mapping):
            by_category = MappingProxyType(
                {(c.strip() if isinstance(c, str) else c): rate for c, rate in by_category.items()}
            )
        normalized[key] = by_category
    return MappingProxyType(normalized)


def _strategy_problems(strategy: object, fallback: object) -> list[Problem]:
    known = ", ".join(STRATEGIES)
    problems = []
    if strategy not in STRATEGIES:
        problems.append(Problem(("strategy",), f"unknown strategy {strategy!r}: use one of {known}"))
    if fallback is not None and fallback not in STRATEGIES:
        message = f"unknown fallback_strategy {fallback!r}: use one of {known} or none"
        problems.append(Problem(("fallback_strategy",), message))
    elif fallback is not None and fallback == strategy:
        message = f"fallback_strategy must differ from the strategy (both are {strategy})"
        problems.append(Problem(("fallback_strategy",), message))
    return problems

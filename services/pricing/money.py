"""Money for pricing: exchange rates, rounding to cents, and amounts written for sellers.

Rules:

* Exchange rates are quoted against one base currency, EUR: ``rates["PLN"] == Decimal("4.30")``
  means 4.30 PLN for 1 EUR. EUR itself is 1 and may be left out. Converting multiplies by the
  rate of the target and divides by the rate of the source, without rounding; whoever shows or
  stores the amount rounds it.
* Amounts are written the Polish/European way: a space between thousands, a comma before the
  cents and the ISO code after the amount: "1 249,00 PLN". Rates keep up to four decimals
  ("4,2987 PLN/EUR") and are quoted so that the number is at least 1 ("4,30 PLN/EUR", not
  "0,23 EUR/PLN"). Percents drop trailing zeros: "15%", "2,5%".
* The arithmetic runs in its own decimal context (28 significant digits), so a caller that changed
  the thread's context cannot change a price.
* Money and percents are Decimals; a float is refused rather than silently carrying binary error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from types import MappingProxyType

BASE_CURRENCY = "EUR"
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
DECIMAL_CONTEXT = Context(
    prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)

_CURRENCY_CODE_RE = re.compile(r"[A-Z]{3}")
_RATE_PLACES = 4


class UnknownCurrency(LookupError):
    """There is no exchange rate for the currency; the message names it and the rates' date."""

    def __init__(self, currency: str, as_of: date, known: list[str]) -> None:
        self.currency = currency
        super().__init__(
            f"unknown currency {currency}: the exchange rates of {as_of.isoformat()} "
            f"have none for it (they have {', '.join(known)})"
        )


class InvalidRates(ValueError):
    """The exchange rates cannot be used; the message says which rate and why."""


@dataclass(frozen=True, slots=True)
class ExchangeRates:
    """Units of each currency for 1 EUR (the base), as published on ``as_of``."""

    rates: Mapping[str, Decimal]
    as_of: date

    def __post_init__(self) -> None:
        problems = []
        normalized: dict[str, Decimal] = {BASE_CURRENCY: Decimal(1)}
        for code, rate in self.rates.items():
            currency = code.upper() if isinstance(code, str) else code
            if currency_problem("currency", currency):
                problems.append(f"not a currency code: {code!r}")
                continue
            if problem := number_problem(f"the rate for {currency}", rate, positive=True):
                problems.append(problem)
                continue
            if currency == BASE_CURRENCY and rate != 1:
                problems.append(f"the rate for {BASE_CURRENCY}, the base, must be 1, got {shown(rate)}")
            normalized[currency] = rate
        if problems:
            raise InvalidRates("; ".join(problems))
        # A private, read-only copy: a caller changing its dict later cannot change a price.
        object.__setattr__(self, "rates", MappingProxyType(normalized))

    def rate(self, from_ccy: str, to_ccy: str) -> Decimal:
        """How many units of ``to_ccy`` one unit of ``from_ccy`` buys (not rounded)."""
        source, target = from_ccy.upper(), to_ccy.upper()
        if source == target:
            return Decimal(1)
        with localcontext(DECIMAL_CONTEXT):
            return self._per_base(target) / self._per_base(source)

    def convert(self, amount: Decimal, from_ccy: str, to_ccy: str) -> Decimal:
        """``amount`` of ``from_ccy`` in ``to_ccy``, not rounded; raises UnknownCurrency."""
        source, target = from_ccy.upper(), to_ccy.upper()
        if source == target:
            return amount
        with localcontext(DECIMAL_CONTEXT):
            return amount * self._per_base(target) / self._per_base(source)

    def describe(self, from_ccy: str, to_ccy: str) -> str:
        """The rate between two currencies as a seller reads it: "4,30 PLN/EUR" (PLN for 1 EUR)."""
        source, target = from_ccy.upper(), to_ccy.upper()
        rate = self.rate(source, target)
        if rate >= 1:
            return f"{format_rate(rate)} {target}/{source}"
        return f"{format_rate(self.rate(target, source))} {source}/{target}"

    def _per_base(self, currency: str) -> Decimal:
        try:
            return self.rates[currency]
        except KeyError:
            raise UnknownCurrency(currency, self.as_of, sorted(self.rates)) from None


def to_cents(amount: Decimal) -> Decimal:
    """Round to cents, half up, as prices are rounded for people: 290.465 → 290.47."""
    # The context as an argument, not a `localcontext` block: this runs ≈ 30 times per price.
    return amount.quantize(CENT, ROUND_HALF_UP, DECIMAL_CONTEXT)


def to_cents_up(amount: Decimal) -> Decimal:
    """Round up to the next cent: for a floor, which must never end up below what it protects."""
    return amount.quantize(CENT, ROUND_CEILING, DECIMAL_CONTEXT)


def format_money(amount: Decimal, currency: str) -> str:
    """1249 and "PLN" → "1 249,00 PLN"; -5.5 → "-5,50 PLN"."""
    return f"{_format_number(to_cents(amount))} {currency}"


def format_rate(rate: Decimal) -> str:
    """4.3 → "4,30"; 4.29871 → "4,2987"; 24.5 → "24,50"."""
    with localcontext(DECIMAL_CONTEXT):
        text = _format_number(rate.quantize(Decimal(1).scaleb(-_RATE_PLACES), rounding=ROUND_HALF_UP))
    whole, _, fraction = text.partition(",")
    return f"{whole},{fraction.rstrip('0').ljust(2, '0')}"


def format_percent(percent: Decimal, *, signed: bool = False, rounding: str = ROUND_HALF_UP) -> str:
    """15 → "15%", 2.50 → "2,5%", 33.3333 → "33,33%"; signed: "+2,5%", "-3%"."""
    rounded = percent.quantize(CENT, rounding, DECIMAL_CONTEXT)
    text = f"{rounded.copy_abs().normalize(DECIMAL_CONTEXT):f}".replace(".", ",")
    sign = "-" if rounded < 0 else "+" if signed and rounded > 0 else ""
    return f"{sign}{text}%"


def shown(value: Decimal) -> str:
    """A Decimal in plain digits for a message about the value itself: 0.500 → "0.5", 1E+2 → "100"."""
    if not value.is_finite():
        return str(value)
    with localcontext(DECIMAL_CONTEXT):
        plain = f"{value.normalize():f}"
    return plain if len(plain) <= 20 else f"{value:.3e}"


def number_problem(
    field: str,
    value: object,
    *,
    positive: bool = False,
    below: Decimal | None = None,
    places: int | None = None,
) -> str | None:
    """What is wrong with a money or percent value, or None when it is a usable Decimal.

    Usable: a finite Decimal, at least 0 (above 0 when ``positive``), below ``below`` when given,
    with at most ``places`` decimal places when given.
    """
    if not isinstance(value, Decimal):
        return f"{field} must be a Decimal, got {type(value).__name__} {value!r}"
    if not value.is_finite():
        return f"{field} must be a finite number, got {value}"
    if positive and value <= 0:
        return f"{field} must be above zero, got {shown(value)}"
    if value < 0:
        return f"{field} must not be negative, got {shown(value)}"
    if below is not None and value >= below:
        return f"{field} must be below {shown(below)}, got {shown(value)}"
    with localcontext(DECIMAL_CONTEXT):
        exponent = value.normalize().as_tuple().exponent
    if places is not None and isinstance(exponent, int) and -exponent > places:
        return f"{field} must have at most {places} decimal places, got {shown(value)}"
    return None


def currency_problem(field: str, value: object) -> str | None:
    """None for a three-letter upper-case code such as "EUR"; otherwise what is wrong."""
    if isinstance(value, str) and _CURRENCY_CODE_RE.fullmatch(value):
        return None
    return f"{field} must be a three-letter currency code such as EUR, got {value!r}"


_SPACE_AND_COMMA = str.maketrans({",": " ", ".": ","})


def _format_number(value: Decimal) -> str:
    """Group thousands with spaces and use a decimal comma; keeps the value's own decimals."""
    if value.is_zero():
        value = abs(value)  # "-0,00" is not an amount anyone writes
    # str() is Decimal's fast path (its digits are format "f"'s whenever it shows no exponent);
    # the "," grouping of format() was an eighth of pricing's time.
    text = str(value)
    if "E" in text:
        return f"{value:,f}".translate(_SPACE_AND_COMMA)
    sign, digits = ("-", text[1:]) if text[0] == "-" else ("", text)
    whole, point, decimals = digits.partition(".")
    if len(whole) > 3:
        whole = f"{int(whole):,}".replace(",", " ")
    return f"{sign}{whole},{decimals}" if point else sign + whole

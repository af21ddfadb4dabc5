"""Competitor offers: which ones a price may follow, and why the others are left out.

Rules (``clean_competitors``), in this order for each offer:

* Out of stock: not counted, never an outlier (reason "out of stock").
* A price that is not a positive Decimal, or that is under 0.01 in the target currency, is not
  counted ("not a usable price: ...").
* An offer without a currency is in the target currency; one whose currency has no exchange rate
  is not counted ("unknown currency XYZ").
* The others are converted to the target currency and rounded to cents; outliers among them are
  flagged and not counted, by rules that the median and quartiles of those prices decide:

  - any count: below median / 3 or above median × 3 is an outlier (the 1 zł offer among
    1 200 zł ones, even when a few such offers are listed);
  - with 4 or more prices, also outside Tukey's fences, Q1 − 1.5 × IQR and Q3 + 1.5 × IQR
    (quartiles by linear interpolation between the sorted prices, as numpy and Excel's
    QUARTILE.INC), but only when the price is also more than 25% away from the median: several
    competitors at exactly the same price make the IQR 0, and one a euro cheaper is not an outlier.

The result keeps the offers' order; the same offers always give the same result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from services.pricing.money import (
    CENT,
    DECIMAL_CONTEXT,
    ExchangeRates,
    UnknownCurrency,
    format_money,
    shown,
    to_cents,
)

MEDIAN_FACTOR = Decimal(3)
TUKEY_MIN_COUNT = 4
TUKEY_K = Decimal("1.5")
TUKEY_MIN_DISTANCE = Decimal("0.25")  # from the median, as a fraction of it

OUT_OF_STOCK = "out of stock"


@dataclass(frozen=True, slots=True)
class CompetitorOffer:
    """An offer for the same product; ``currency`` None means the target currency."""

    seller: str | None
    price: Decimal
    currency: str | None
    in_stock: bool


@dataclass(frozen=True, slots=True)
class EvaluatedOffer:
    """An offer as priced: its price in the target currency and whether a price may follow it.

    ``currency`` is the offer's own currency (the target currency when the offer had none);
    ``converted_price`` is None when it could not be converted.
    """

    seller: str | None
    price: Decimal
    currency: str
    in_stock: bool
    converted_price: Decimal | None
    counted: bool
    is_outlier: bool
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: Decimals as strings ("1249.00")."""
        return {
            "seller": self.seller,
            "price": _decimal_json(self.price),
            "currency": self.currency,
            "in_stock": self.in_stock,
            "converted_price": _decimal_json(self.converted_price),
            "counted": self.counted,
            "is_outlier": self.is_outlier,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class _Fences:
    median: Decimal
    low: Decimal  # below it: an outlier
    high: Decimal  # above it: an outlier


def clean_competitors(
    offers: Iterable[CompetitorOffer], *, currency: str, rates: ExchangeRates
) -> list[EvaluatedOffer]:
    """Convert each offer to ``currency`` and decide whether it counts; see the module's rules."""
    target = currency.upper()
    with localcontext(DECIMAL_CONTEXT):
        evaluated = [_evaluate(offer, target, rates) for offer in offers]
        prices = sorted(
            offer.converted_price for offer in evaluated if offer.counted and offer.converted_price
        )
        if not prices:
            return evaluated
        fences = _fences(prices)
        return [_flag(offer, fences, target) if offer.counted else offer for offer in evaluated]


def _evaluate(offer: CompetitorOffer, target: str, rates: ExchangeRates) -> EvaluatedOffer:
    currency = offer.currency.strip().upper() if offer.currency else target
    price = offer.price

    def result(converted: Decimal | None, reason: str | None) -> EvaluatedOffer:
        counted = reason is None
        return EvaluatedOffer(
            offer.seller, price, currency, offer.in_stock, converted, counted, False, reason
        )

    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        shown_price = shown(price) if isinstance(price, Decimal) else repr(price)
        return result(None, OUT_OF_STOCK if not offer.in_stock else f"not a usable price: {shown_price}")
    try:
        converted = to_cents(rates.convert(price, currency, target))
    except UnknownCurrency:
        return result(None, OUT_OF_STOCK if not offer.in_stock else f"unknown currency {currency}")
    if not offer.in_stock:
        return result(converted, OUT_OF_STOCK)
    if converted < CENT:
        return result(
            converted,
            f"not a usable price: {format_money(price, currency)} is less than {format_money(CENT, target)}",
        )
    return result(converted, None)


def _fences(prices: list[Decimal]) -> _Fences:
    """Outlier bounds for sorted prices; see the module's rules."""
    median = _quantile(prices, Decimal("0.5"))
    low, high = median / MEDIAN_FACTOR, median * MEDIAN_FACTOR
    if len(prices) >= TUKEY_MIN_COUNT:
        q1, q3 = _quantile(prices, Decimal("0.25")), _quantile(prices, Decimal("0.75"))
        iqr = q3 - q1
        tukey_low = min(q1 - TUKEY_K * iqr, median * (1 - TUKEY_MIN_DISTANCE))
        tukey_high = max(q3 + TUKEY_K * iqr, median * (1 + TUKEY_MIN_DISTANCE))
        low, high = max(low, tukey_low), min(high, tukey_high)
    return _Fences(median, low, high)


def _quantile(prices: list[Decimal], q: Decimal) -> Decimal:
    """Linear interpolation between the closest ranks of sorted prices (Hyndman & Fan type 7)."""
    position = (len(prices) - 1) * q
    below = int(position)
    if below + 1 >= len(prices):
        return prices[below]
    return prices[below] + (position - below) * (prices[below + 1] - prices[below])


def _flag(offer: EvaluatedOffer, fences: _Fences, target: str) -> EvaluatedOffer:
    price = offer.converted_price
    assert price is not None  # counted offers were converted
    if fences.low <= price <= fences.high:
        return offer
    shown_price = format_money(offer.price, offer.currency)
    if offer.currency != target:
        shown_price += f" ({format_money(price, target)})"
    side = "below" if price < fences.low else "above"
    reason = f"outlier: {shown_price} is far {side} the median {format_money(fences.median, target)}"
    return EvaluatedOffer(
        offer.seller, offer.price, offer.currency, offer.in_stock, price, False, True, reason
    )


def _decimal_json(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"

"""The one margin: what the seller keeps of a sale, after VAT, the marketplace's fee and the cost.

For a gross price G (what the buyer pays on the marketplace), its VAT v %, the marketplace's fee
f % (charged on the gross price, as Amazon, eBay, Kaufland and Allegro charge it) and the cost C
(net of VAT, in the price's currency):

    net     N = G / (1 + v/100)
    fee     F = G × f/100
    profit  P = N − F − C
    margin    = P / N × 100, a percent of the net price

The floors, the rules' ``margin_percent`` and the price explanation all use this definition. The
floor for a margin m % is the lowest gross price whose margin is at least m:

    G ≥ C × (1 + v/100) / (1 − m/100 − f/100 × (1 + v/100))

and with m = 0 it is cost + fee + VAT: what the seller receives after VAT and the fee is the cost.
When the denominator is not above zero (the fee and VAT take more than 100 − m % of the net price),
no price leaves the margin. The margin is computed from the exact amounts and rounded to two
decimals (half up); the floor is rounded up to the cent, so the margin holds at the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from services.pricing.money import CENT, DECIMAL_CONTEXT, HUNDRED, to_cents, to_cents_up


@dataclass(frozen=True, slots=True)
class Margin:
    """One sale at a gross price, taken apart: amounts not rounded, ``percent`` to two decimals."""

    net: Decimal
    fee: Decimal
    profit: Decimal
    percent: Decimal


def margin(price: Decimal, cost: Decimal, fee_percent: Decimal, vat_percent: Decimal) -> Margin:
    """The margin of a sale at the gross ``price`` (above zero); see the module's definition."""
    with localcontext(DECIMAL_CONTEXT):
        net = price / (1 + vat_percent / HUNDRED)
        fee = price * fee_percent / HUNDRED
        profit = net - fee - cost
        percent = (profit / net * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    return Margin(net, fee, profit, percent)


def margin_percent(
    price: Decimal | None, cost: Decimal | None, fee_percent: Decimal, vat_percent: Decimal | None
) -> Decimal | None:
    """The margin in percent, or None when the price (above zero), the cost or the VAT is unknown."""
    if price is None or price <= 0 or cost is None or vat_percent is None:
        return None
    return margin(price, cost, fee_percent, vat_percent).percent


@dataclass(frozen=True, slots=True)
class Floor:
    """The lowest gross price that keeps the margin (rounded up to the cent) and its net (rounded);
    both None when no price can (``impossible``)."""

    gross: Decimal | None
    net: Decimal | None

    @property
    def impossible(self) -> bool:
        return self.gross is None


def floor_price(cost: Decimal, margin_percent: Decimal, fee_percent: Decimal, vat_percent: Decimal) -> Floor:
    """The floor for a margin of ``margin_percent`` over the exact ``cost``; see the module's formula."""
    with localcontext(DECIMAL_CONTEXT):
        vat = 1 + vat_percent / HUNDRED
        share = 1 - margin_percent / HUNDRED - fee_percent / HUNDRED * vat
        if share <= 0:
            return Floor(None, None)
        gross = to_cents_up(cost * vat / share)
        return Floor(gross, to_cents(gross / vat))

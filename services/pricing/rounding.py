"""Charm endings: prices that end in .99 (or .49, .95...) without leaving the price's bounds.

Rules (``apply_charm``):

* The price is rounded DOWN to the nearest amount with the ending: 287.57 → 286.99, and a price
  that already has it stays (286.99).
* If that goes below the lower bound (the floor or the min price, and never below 0.01), it is
  rounded UP to the next amount with the ending instead: 300.50 with a floor of 300.50 → 300.99,
  provided that stays within the upper bound (the max price).
* When neither fits (300.50 within [300.50, 300.60]) the price is kept unrounded.

The result never leaves [lower, upper] when the price given was within it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Literal

from services.pricing.money import CENT, DECIMAL_CONTEXT, to_cents

Outcome = Literal["unchanged", "down", "up", "kept"]


@dataclass(frozen=True, slots=True)
class CharmResult:
    """The price after rounding, what was done, and the rounded-down/up candidates considered."""

    price: Decimal
    outcome: Outcome
    down: Decimal
    up: Decimal


def ending_text(ending: Decimal) -> str:
    """0.99 → ".99", 0.9 → ".90", 0 → ".00"."""
    return f".{int(to_cents(ending) * 100):02d}"


def charm_down(price: Decimal, ending: Decimal) -> Decimal:
    """The largest amount ending in ``ending`` that is not above ``price`` (may be below zero)."""
    with localcontext(DECIMAL_CONTEXT):
        whole = (price - ending).to_integral_value(rounding=ROUND_FLOOR)
        return to_cents(whole + ending)


def charm_up(price: Decimal, ending: Decimal) -> Decimal:
    """The smallest amount ending in ``ending`` that is not below ``price``."""
    down = charm_down(price, ending)
    return down if down == to_cents(price) else down + 1


def apply_charm(
    price: Decimal, ending: Decimal, *, lower: Decimal | None = None, upper: Decimal | None = None
) -> CharmResult:
    """Give ``price`` the ending without leaving [lower, upper]; see the module's rules.

    ``price`` must already be within the bounds (ValueError otherwise): bounding comes first.
    """
    price = to_cents(price)
    lowest = max(lower, CENT) if lower is not None else CENT
    if price < lowest or (upper is not None and price > upper):
        raise ValueError(f"price {price} is outside its bounds [{lowest}, {upper}]; bound it first")
    down = charm_down(price, ending)
    up = down if down == price else down + 1
    if down == price:
        return CharmResult(price, "unchanged", down, up)
    if down >= lowest:
        return CharmResult(down, "down", down, up)
    if upper is None or up <= upper:
        return CharmResult(up, "up", down, up)
    return CharmResult(price, "kept", down, up)

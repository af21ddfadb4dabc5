"""Charm endings: down to the ending, up when down crosses the lower bound, otherwise unrounded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pricing.rounding import apply_charm, charm_down, charm_up, ending_text

D = Decimal


@pytest.mark.parametrize(
    ("price", "ending", "lower", "upper", "result", "outcome"),
    [
        ("287.57", "0.99", None, None, "286.99", "down"),
        ("286.99", "0.99", None, None, "286.99", "unchanged"),
        ("287.57", "0.49", None, None, "287.49", "down"),
        ("287.40", "0.49", None, None, "286.49", "down"),
        ("300.10", "0", None, None, "300.00", "down"),
        ("300.00", "0", None, None, "300.00", "unchanged"),
        ("10.97", "0.9", None, None, "10.90", "down"),
        ("10.87", "0.9", None, None, "9.90", "down"),
        ("287.57", "0.99", "285.91", None, "286.99", "down"),  # down stays above the floor
        ("286.50", "0.99", "286.00", None, "286.99", "up"),  # 285.99 would cross the floor
        ("286.50", "0.99", "286.00", "287.00", "286.99", "up"),
        ("300.55", "0.99", "300.50", "300.60", "300.55", "kept"),  # neither fits
        ("286.99", "0.99", "286.99", "286.99", "286.99", "unchanged"),
        ("0.50", "0.99", None, None, "0.99", "up"),  # never down to zero or below
        ("0.50", "0.99", None, "0.60", "0.50", "kept"),
        ("1.00", "0", None, None, "1.00", "unchanged"),
        ("0.99", "0", None, None, "1.00", "up"),  # 0.00 is not a price
    ],
)
def test_apply_charm(price, ending, lower, upper, result, outcome):
    charmed = apply_charm(
        D(price), D(ending), lower=D(lower) if lower else None, upper=D(upper) if upper else None
    )
    assert (charmed.price, charmed.outcome) == (D(result), outcome)
    assert charmed.price.as_tuple().exponent == -2


def test_a_price_outside_its_bounds_is_a_programming_error():
    with pytest.raises(ValueError, match="bound it first"):
        apply_charm(D("5.00"), D("0.99"), lower=D("6.00"))
    with pytest.raises(ValueError, match="bound it first"):
        apply_charm(D("5.00"), D("0.99"), upper=D("4.00"))


def test_charm_down_and_up():
    assert charm_down(D("287.57"), D("0.99")) == D("286.99")
    assert charm_up(D("287.57"), D("0.99")) == D("287.99")
    assert charm_up(D("287.99"), D("0.99")) == D("287.99")
    assert charm_down(D("0.50"), D("0.99")) == D("-0.01")


@pytest.mark.parametrize(("ending", "text"), [("0.99", ".99"), ("0.9", ".90"), ("0", ".00"), ("0.05", ".05")])
def test_ending_text(ending, text):
    assert ending_text(D(ending)) == text


cents = st.integers(min_value=1, max_value=10_000_000).map(lambda n: D(n) / 100)
endings = st.integers(min_value=0, max_value=99).map(lambda n: D(n) / 100)


@settings(deadline=None)
@given(
    st.lists(cents, min_size=3, max_size=3).map(sorted),
    endings,
    st.booleans(),
    st.booleans(),
)
def test_charm_never_crosses_a_bound(values, ending, has_lower, has_upper):
    lower, price, upper = values
    charmed = apply_charm(
        price, ending, lower=lower if has_lower else None, upper=upper if has_upper else None
    )
    assert charmed.price >= D("0.01")
    assert charmed.price.as_tuple().exponent == -2
    if has_lower:
        assert charmed.price >= lower
    if has_upper:
        assert charmed.price <= upper
    if charmed.outcome == "kept":
        assert charmed.price == price
    else:
        assert charmed.price % 1 == ending
        assert abs(charmed.price - price) < 1  # the nearest amount with the ending, not any
        assert (charmed.price <= price) == (charmed.outcome in ("down", "unchanged"))

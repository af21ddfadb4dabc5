"""The one margin, (net − fee − cost) / net, and the floor that keeps it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.pricing.margin import floor_price, margin, margin_percent

D = Decimal


def test_a_sale_taken_apart():
    sale = margin(D("238.00"), D(100), D(15), D(19))
    # 238 with 19 % VAT is 200 net; the fee is 15 % of 238 = 35.70; 200 − 35.70 − 100 = 64.30
    assert (sale.net, sale.fee, sale.profit, sale.percent) == (D(200), D("35.70"), D("64.30"), D("32.15"))


def test_vat_and_the_fee_come_out_before_the_margin():
    with_vat = margin(D(119), D(50), D(0), D(19)).percent
    without_vat = margin(D(119), D(50), D(0), D(0)).percent
    with_fee = margin(D(119), D(50), D(10), D(19)).percent
    assert (with_vat, without_vat, with_fee) == (D(50), D("57.98"), D("38.10"))


def test_unknown_when_a_part_is_missing():
    assert margin_percent(None, D(1), D(15), D(19)) is None
    assert margin_percent(D(0), D(1), D(15), D(19)) is None
    assert margin_percent(D(10), None, D(15), D(19)) is None
    assert margin_percent(D(10), D(1), D(15), None) is None
    assert margin_percent(D(119), D(50), D(0), D(19)) == D(50)


def test_the_floor_at_margin_zero_is_cost_plus_fee_plus_vat():
    floor = floor_price(D(100), D(0), D(15), D(19))
    assert (floor.gross, floor.net) == (D("144.86"), D("121.73"))
    assert (
        margin(D("144.86"), D(100), D(15), D(19)).profit
        >= 0
        > margin(D("144.85"), D(100), D(15), D(19)).profit
    )


def test_no_floor_when_the_fee_and_vat_leave_no_room():
    assert floor_price(D(100), D(20), D(70), D(19)).impossible
    assert floor_price(D(100), D(0), D("84.04"), D(19)).impossible  # 84.04 % × 1.19 > 100 %
    assert not floor_price(D(100), D(0), D(84), D(19)).impossible


@settings(deadline=None, max_examples=300)
@given(
    st.integers(min_value=0, max_value=10_000_000).map(lambda n: D(n).scaleb(-2)),
    st.integers(min_value=0, max_value=5_000).map(lambda n: D(n).scaleb(-2)),
    st.integers(min_value=0, max_value=3_000).map(lambda n: D(n).scaleb(-2)),
    st.sampled_from([D(0), D(5), D(7), D(19), D(23)]),
)
@example(D("4.29"), D("1.60"), D("20.00"), D(23))  # keeps the margin exactly, to the last digit
def test_the_floor_is_the_lowest_price_keeping_the_margin(cost, wanted, fee, vat):
    floor = floor_price(cost, wanted, fee, vat)
    assert floor.gross is not None
    at = margin(floor.gross, cost, fee, vat) if floor.gross > 0 else None
    if at is not None:
        # Within the 28 digits Decimal computes with: a floor that keeps the margin exactly (a whole
        # cent) may miss it in the last digit (0.0930…081 against 0.0930…0813), not by a cent's worth.
        assert at.profit >= wanted / 100 * at.net - D("1e-20")
        assert at.percent >= wanted
    below = floor.gross - D("0.01")
    if below > 0:
        under = margin(below, cost, fee, vat)
        assert under.profit < wanted / 100 * under.net or cost == 0


@pytest.mark.parametrize("price", [D("0.01"), D(1), D(1000)])
def test_the_margin_rises_with_the_price(price):
    assert margin(price, D(1), D(10), D(19)).profit < margin(price + 1, D(1), D(10), D(19)).profit
    lower, higher = margin(price, D(1), D(10), D(19)), margin(price + 1, D(1), D(10), D(19))
    assert lower.profit / lower.net < higher.profit / higher.net

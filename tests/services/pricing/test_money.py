"""Money: amounts written "1 249,00 PLN", rates against EUR, conversion and its errors."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_FLOOR, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pricing.money import (
    ExchangeRates,
    InvalidRates,
    UnknownCurrency,
    _format_number,
    format_money,
    format_percent,
    format_rate,
    number_problem,
    to_cents,
    to_cents_up,
)

D = Decimal
RATES = ExchangeRates({"PLN": D("4.30"), "CZK": D("25.00")}, date(2026, 11, 20))


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (D("1249"), "PLN", "1 249,00 PLN"),
        (D("290.4651"), "EUR", "290,47 EUR"),
        (D("0.005"), "EUR", "0,01 EUR"),  # half up
        (D("0.004"), "EUR", "0,00 EUR"),
        (D("999.999"), "EUR", "1 000,00 EUR"),
        (D("1234567.5"), "PLN", "1 234 567,50 PLN"),
        (D("-5.5"), "EUR", "-5,50 EUR"),
        (D("-0.001"), "EUR", "0,00 EUR"),  # no "-0,00"
        (D("1E+3"), "CZK", "1 000,00 CZK"),
        (D("12"), "EUR", "12,00 EUR"),
    ],
)
def test_format_money(amount, currency, text):
    assert format_money(amount, currency) == text


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_numbers_are_written_as_format_f_writes_them(value):
    """The fast path (str of the Decimal) writes what format(value, ",f") writes, grouped in spaces
    with a decimal comma, for any finite value, exponents included."""
    expected = f"{abs(value) if value.is_zero() else value:,f}".replace(",", " ").replace(".", ",")
    assert _format_number(value) == expected


@pytest.mark.parametrize(
    ("percent", "signed", "text"),
    [
        (D(15), False, "15%"),
        (D("2.50"), False, "2,5%"),
        (D("33.3333"), False, "33,33%"),
        (D(100), False, "100%"),
        (D(0), True, "0%"),
        (D("2.5"), True, "+2,5%"),
        (D(-3), True, "-3%"),
    ],
)
def test_format_percent(percent, signed, text):
    assert format_percent(percent, signed=signed) == text


@pytest.mark.parametrize(
    ("rate", "text"),
    [(D("4.3"), "4,30"), (D("4.29871"), "4,2987"), (D("24.5"), "24,50"), (D("1234.5"), "1 234,50")],
)
def test_format_rate(rate, text):
    assert format_rate(rate) == text


def test_cents_round_half_up_or_up():
    assert to_cents(D("285.905")) == D("285.91")
    assert to_cents(D("285.9049")) == D("285.90")
    assert to_cents_up(D("285.9001")) == D("285.91")
    assert to_cents_up(D("285.90")) == D("285.90")


class TestExchangeRates:
    def test_rates_are_units_per_euro(self):
        assert RATES.convert(D("1249"), "PLN", "EUR") == D(1249) / D("4.30")
        assert RATES.convert(D(100), "EUR", "PLN") == D(430)

    def test_cross_rates_go_through_the_euro(self):
        assert RATES.convert(D(430), "PLN", "CZK") == D(2500)

    def test_same_currency_is_the_amount_itself_even_without_a_rate(self):
        assert RATES.convert(D("12.34"), "XYZ", "XYZ") == D("12.34")

    def test_codes_are_read_in_any_case(self):
        assert RATES.convert(D(100), "eur", "pln") == D(430)
        assert ExchangeRates({"pln": D("4.3")}, date(2026, 1, 1)).rates["PLN"] == D("4.3")

    def test_unknown_currency_names_it_and_the_rates_date(self):
        with pytest.raises(UnknownCurrency, match=r"unknown currency XYZ: .* of 2026-11-20") as caught:
            RATES.convert(D(1), "XYZ", "EUR")
        assert caught.value.currency == "XYZ"
        with pytest.raises(UnknownCurrency, match="have CZK, EUR, PLN"):
            RATES.convert(D(1), "EUR", "GBP")

    @pytest.mark.parametrize(
        ("source", "target", "text"),
        [
            ("PLN", "EUR", "4,30 PLN/EUR"),
            ("EUR", "PLN", "4,30 PLN/EUR"),  # always quoted as a number of at least 1
            ("PLN", "CZK", "5,814 CZK/PLN"),
            ("EUR", "EUR", "1,00 EUR/EUR"),
        ],
    )
    def test_describe(self, source, target, text):
        assert RATES.describe(source, target) == text

    def test_the_caller_cannot_change_the_rates_afterwards(self):
        given = {"PLN": D("4.30")}
        rates = ExchangeRates(given, date(2026, 11, 20))
        given["PLN"] = D(1)
        assert rates.convert(D(430), "PLN", "EUR") == D(100)
        with pytest.raises(TypeError):
            rates.rates["PLN"] = D(1)  # type: ignore[index]

    def test_conversion_ignores_the_callers_decimal_context(self):
        expected = RATES.convert(D("1249"), "PLN", "EUR")
        with localcontext() as ctx:
            ctx.prec, ctx.rounding = 3, ROUND_FLOOR
            assert RATES.convert(D("1249"), "PLN", "EUR") == expected

    @pytest.mark.parametrize(
        ("rates", "message"),
        [
            ({"PLN": D(0)}, "the rate for PLN must be above zero, got 0"),
            ({"PLN": 4.3}, "the rate for PLN must be a Decimal, got float 4.3"),
            ({"PLN": D("NaN")}, "the rate for PLN must be a finite number, got NaN"),
            ({"EUR": D(2)}, "the rate for EUR, the base, must be 1, got 2"),
            ({"zloty": D(1)}, "not a currency code: 'zloty'"),
        ],
    )
    def test_invalid_rates_are_refused(self, rates, message):
        with pytest.raises(InvalidRates) as caught:
            ExchangeRates(rates, date(2026, 11, 20))
        assert str(caught.value) == message


@pytest.mark.parametrize(
    ("value", "options", "message"),
    [
        (D("1.5"), {}, None),
        (D("1.500"), {"places": 2}, None),  # trailing zeros are not decimals
        (D("1.505"), {"places": 2}, "x must have at most 2 decimal places, got 1.505"),
        (D(-1), {}, "x must not be negative, got -1"),
        (D(0), {"positive": True}, "x must be above zero, got 0"),
        (D(100), {"below": D(100)}, "x must be below 100, got 100"),
        (D("Infinity"), {}, "x must be a finite number, got Infinity"),
        (1, {}, "x must be a Decimal, got int 1"),
        (None, {}, "x must be a Decimal, got NoneType None"),
    ],
)
def test_number_problem(value, options, message):
    assert number_problem("x", value, **options) == message

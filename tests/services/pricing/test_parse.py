from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pricing.parse import MAX_AMOUNT, InvalidPrice, ParsedPrice, parse_price

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"


@pytest.mark.parametrize(
    ("value", "amount", "currency"),
    [
        # the formats scrapers send
        ("1 299,99 zł", "1299.99", "PLN"),
        ("1,299.99", "1299.99", None),
        ("1.299,99 €", "1299.99", "EUR"),
        ("PLN 1299", "1299.00", "PLN"),
        ("1299.-", "1299.00", None),
        ("1299,-", "1299.00", None),
        ("12,5", "12.50", None),
        ("€12", "12.00", "EUR"),
        ("1 299", "1299.00", None),
        ("1'299.50", "1299.50", None),
        ("USD 19.99", "19.99", "USD"),
        ("19,99 EUR", "19.99", "EUR"),
        # thousands spaces of every kind
        (f"1{NBSP}299,99{NBSP}zł", "1299.99", "PLN"),
        (f"1{NARROW_NBSP}299,99 zł", "1299.99", "PLN"),
        (f"12{NBSP}500{NBSP}000", "12500000.00", None),
        ("  1 299,99 zł  ", "1299.99", "PLN"),
        # "," and "."
        ("1,299", "1299.00", None),
        ("1.299", "1299.00", None),
        ("1.299.000", "1299000.00", None),
        ("1,299,000.50", "1299000.50", None),
        ("1.299.000,50", "1299000.50", None),
        ("0,99", "0.99", None),
        ("0.999", "1.00", None),
        ("12.5000", "12.50", None),
        ("1299", "1299.00", None),
        # currencies before or after, any case, glued or spaced
        ("1299zł", "1299.00", "PLN"),
        ("1299 ZŁ", "1299.00", "PLN"),
        ("1299 zl", "1299.00", "PLN"),
        ("pln 1299", "1299.00", "PLN"),
        ("PLN1299", "1299.00", "PLN"),
        ("€ 12", "12.00", "EUR"),
        ("12 eur", "12.00", "EUR"),
        ("$1,000,000.00", "1000000.00", "USD"),
        ("19.99 usd", "19.99", "USD"),
        ("£5", "5.00", "GBP"),
        ("5 GBP", "5.00", "GBP"),
        ("5 Kč", "5.00", "CZK"),
        ("CZK 5", "5.00", "CZK"),
        ("€12 EUR", "12.00", "EUR"),
        # exactly three digits after a lone separator are a thousands group...
        ("2,675 zł", "2675.00", "PLN"),
        ("1.005", "1005.00", None),
        # ...other lone separators, and those after a bare 0, are decimal: rounded to cents, half up
        ("0,005", "0.01", None),
        ("0,994", "0.99", None),
        ("1.0049", "1.00", None),
        # numbers
        (1299, "1299.00", None),
        (12.5, "12.50", None),
        (0.1, "0.10", None),
        (2.675, "2.68", None),
        (Decimal("1.005"), "1.01", None),
        (Decimal("19.99"), "19.99", None),
        (100_000_000, "100000000.00", None),
    ],
)
def test_parses(value, amount, currency):
    assert parse_price(value) == ParsedPrice(Decimal(amount), currency)


def test_amount_always_has_two_places():
    assert str(parse_price("1299").amount) == "1299.00"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("zapytaj sprzedawcę", "not a number: 'zapytaj sprzedawcę'"),
        ("", "is empty"),
        (f"  {NBSP}", "is empty"),
        (None, "is required"),
        (True, "not a number: true"),
        (False, "not a number: false"),
        ([12], "not a number: [12]"),
        (-15, "must be a positive number, got -15"),
        (-15.0, "must be a positive number, got -15"),
        ("-15", "must be a positive number, got -15"),
        ("-15 zł", "must be a positive number, got -15"),
        ("PLN -15", "must be a positive number, got -15"),
        ("-€12,50", "must be a positive number, got -12.5"),
        (0, "must be a positive number, got 0"),
        ("0,00 zł", "must be a positive number, got 0"),
        ("0,001", "must be at least 0.01, got 0.001"),
        (float("nan"), "must be a finite number, got nan"),
        (float("inf"), "must be a finite number, got inf"),
        (Decimal("NaN"), "must be a finite number, got NaN"),
        ("NaN", "must be a finite number, got 'NaN'"),
        ("Infinity", "must be a finite number, got 'Infinity'"),
        ("-inf", "must be a finite number, got '-inf'"),
        (100_000_000.01, "is too large: 100000000.01 (at most 100,000,000)"),
        ("1 000 000 000 zł", "is too large: 1000000000 (at most 100,000,000)"),
        (10**40, "is too large: 1.000e+40 (at most 100,000,000)"),
        ("10-20 zł", "not a single price: '10-20 zł'"),
        ("10 - 20", "not a single price: '10 - 20'"),
        ("10 20", "not a single price: '10 20'"),
        ("od 10 do 20 zł", "not a single price: 'od 10 do 20 zł'"),
        ("około 12 zł", "not a price: 'około 12 zł'"),
        ("12 zloty", "not a price: '12 zloty'"),
        ("1,2,3", "not a price: '1,2,3'"),
        ("12345,678", "not a price: '12345,678'"),
        ("€12 PLN", "has two currencies: '€12 PLN'"),
        ("x" * 100, f"not a number: '{'x' * 60}…'"),
    ],
)
def test_rejects(value, message):
    with pytest.raises(InvalidPrice) as raised:
        parse_price(value)
    assert str(raised.value) == message


def test_invalid_price_is_a_value_error():
    with pytest.raises(ValueError, match="not a number"):
        parse_price("brak")


def _polish(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", NBSP).replace(".", ",") + " zł"


def _english(amount: Decimal) -> str:
    return f"{amount:,.2f}"


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)


@given(prices)
def test_polish_format_round_trips(amount):
    assert parse_price(_polish(amount)) == ParsedPrice(amount, "PLN")


@given(prices)
def test_english_format_round_trips(amount):
    assert parse_price(_english(amount)) == ParsedPrice(amount, None)


@given(prices)
def test_narrow_spaces_and_euro_round_trip(amount):
    text = f"{amount:,.2f}".replace(",", NARROW_NBSP).replace(".", ",")
    assert parse_price(f"{text} €") == ParsedPrice(amount, "EUR")


@given(st.one_of(st.text(max_size=30), st.floats(), st.integers(), st.decimals()))
def test_anything_either_parses_to_cents_or_raises_invalid_price(value):
    try:
        parsed = parse_price(value)
    except InvalidPrice:
        return
    assert Decimal("0.01") <= parsed.amount <= MAX_AMOUNT
    assert parsed.amount.as_tuple().exponent == -2

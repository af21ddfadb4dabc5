"""Competitor offers: out of stock, unusable and unknown-currency offers and outliers do not count."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pricing.competitors import CompetitorOffer, EvaluatedOffer, clean_competitors
from services.pricing.money import ExchangeRates

D = Decimal
RATES = ExchangeRates({"PLN": D("4.30"), "CZK": D("25.00")}, date(2026, 11, 20))


def offer(price: str, currency: str | None = None, *, in_stock: bool = True, seller: str | None = "s"):
    return CompetitorOffer(seller, D(price), currency, in_stock)


def clean(offers: list[CompetitorOffer], currency: str = "PLN") -> list[EvaluatedOffer]:
    return clean_competitors(offers, currency=currency, rates=RATES)


def outliers(prices: list[str], currency: str = "EUR") -> list[str]:
    cleaned = clean([offer(price) for price in prices], currency)
    return [f"{result.price}" for result in cleaned if result.is_outlier]


def test_the_one_zloty_offer_among_1200_zloty_offers_is_an_outlier():
    cleaned = clean([offer(p, "PLN") for p in ["1230", "1", "1240", "1250", "1260"]])
    assert [result.counted for result in cleaned] == [True, False, True, True, True]
    assert cleaned[1].is_outlier
    assert cleaned[1].reason == "outlier: 1,00 PLN is far below the median 1 240,00 PLN"


def test_an_outlier_in_another_currency_is_shown_in_both():
    cleaned = clean([offer(p, "PLN") for p in ["1", "1240", "1249", "1260"]], "EUR")
    assert cleaned[0].reason == "outlier: 1,00 PLN (0,23 EUR) is far below the median 289,42 EUR"


def test_a_far_higher_offer_is_an_outlier_too():
    cleaned = clean([offer("100"), offer("105"), offer("110"), offer("500")], "EUR")
    assert cleaned[3].reason == "outlier: 500,00 EUR is far above the median 107,50 EUR"


@pytest.mark.parametrize(
    ("prices", "flagged"),
    [
        (["1"], []),  # alone, nothing to compare with
        (["1", "1200"], ["1"]),  # below median/3
        (["350", "100"], []),
        (["1", "1200", "1240"], ["1"]),
        (["500", "1200", "1240"], []),  # 500 is above 1200/3
        (["100", "100", "301"], ["301"]),  # above median×3
        (["100", "100", "300"], []),
        (["1", "1", "1200", "1240", "1250"], ["1", "1"]),  # a few baits: the median rule still sees them
        # Tukey's fences with four or more prices: 60 is inside median/3 but far outside the fences
        (["100", "102", "104", "60", "106", "108"], ["60"]),
        (["100", "102", "104", "80", "106", "108"], []),  # outside the fences, but within 25% of the median
        # identical prices make the IQR 0: one a little cheaper is a competitor, not an outlier
        (["99", "100", "100", "100", "100"], []),
        (["70", "100", "100", "100", "100"], ["70"]),
        (["100", "100", "100", "100", "130"], ["130"]),
    ],
)
def test_outlier_rules(prices, flagged):
    assert outliers(prices) == flagged


def test_out_of_stock_offers_are_ignored_and_never_outliers():
    cleaned = clean([offer("1", in_stock=False), offer("1200"), offer("1240"), offer("1250")])
    assert cleaned[0] == EvaluatedOffer("s", D("1"), "PLN", False, D("1.00"), False, False, "out of stock")
    assert all(result.counted for result in cleaned[1:])


def test_offers_are_converted_to_the_target_currency_in_cents():
    cleaned = clean([offer("1249", "PLN"), offer("300"), offer("7500", "CZK"), offer("290", "eur")], "EUR")
    assert [result.converted_price for result in cleaned] == [
        D("290.47"),
        D("300.00"),
        D("300.00"),
        D("290.00"),
    ]
    assert [result.currency for result in cleaned] == ["PLN", "EUR", "CZK", "EUR"]
    assert all(result.counted for result in cleaned)


def test_an_offer_without_currency_is_in_the_target_currency():
    assert clean([offer("100", None)], "CZK")[0].converted_price == D("100.00")


def test_an_unknown_currency_is_not_counted():
    cleaned = clean([offer("100", "XYZ"), offer("100", "XYZ", in_stock=False)])
    assert (cleaned[0].counted, cleaned[0].is_outlier, cleaned[0].reason) == (
        False,
        False,
        "unknown currency XYZ",
    )
    assert cleaned[0].converted_price is None
    assert cleaned[1].reason == "out of stock"


@pytest.mark.parametrize(
    ("price", "currency", "reason"),
    [
        ("0", None, "not a usable price: 0"),
        ("-5", None, "not a usable price: -5"),
        ("NaN", None, "not a usable price: NaN"),
        ("0.01", "CZK", "not a usable price: 0,01 CZK is less than 0,01 EUR"),
    ],
)
def test_unusable_prices_are_not_counted(price, currency, reason):
    cleaned = clean([offer(price, currency), offer("100")], "EUR")
    assert (cleaned[0].counted, cleaned[0].is_outlier, cleaned[0].reason) == (False, False, reason)
    assert cleaned[1].counted


def test_to_json_is_plain_json():
    result = clean([offer("1E+3", "PLN", seller=None)], "EUR")[0]
    assert json.loads(json.dumps(result.to_json())) == {
        "seller": None,
        "price": "1000",
        "currency": "PLN",
        "in_stock": True,
        "converted_price": "232.56",
        "counted": True,
        "is_outlier": False,
        "reason": None,
    }


def test_no_offers_give_no_results():
    assert clean([]) == []


offers = st.builds(
    CompetitorOffer,
    seller=st.none() | st.sampled_from(["a", "b", "c"]),
    price=st.integers(min_value=-100, max_value=10_000_000).map(lambda n: D(n).scaleb(-2)),
    currency=st.none() | st.sampled_from(["EUR", "PLN", "CZK", "XYZ"]),
    in_stock=st.booleans(),
)


@settings(deadline=None)
@given(st.lists(offers, max_size=12), st.sampled_from(["EUR", "PLN"]))
def test_cleaning_invariants(given_offers, currency):
    cleaned = clean(given_offers, currency)
    assert cleaned == clean(given_offers, currency)  # deterministic
    assert len(cleaned) == len(given_offers)
    for source, result in zip(given_offers, cleaned, strict=True):
        assert (result.seller, result.price, result.in_stock) == (
            source.seller,
            source.price,
            source.in_stock,
        )
        if not source.in_stock:
            assert not result.is_outlier
            assert not result.counted
            assert result.reason == "out of stock"
        if result.counted:
            assert result.reason is None
            assert result.converted_price is not None
            assert result.converted_price.as_tuple().exponent == -2
        else:
            assert result.reason
        assert result.is_outlier == (result.reason or "").startswith("outlier: ")
    # Cleaning never drops every usable offer: the one at the median is never an outlier.
    if any(result.counted or result.is_outlier for result in cleaned):
        assert any(result.counted for result in cleaned)

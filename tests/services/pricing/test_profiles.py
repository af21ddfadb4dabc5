"""Pricing profiles: impossible ones are refused, naming every problem in words a seller reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.pricing import ExchangeRates, UnknownCurrency
from services.pricing.profiles import STRATEGIES, InvalidProfile, PricingProfile, Problem, in_currency

D = Decimal


def profile(**changes: Any) -> PricingProfile:
    values: dict[str, Any] = {"name": "default", "strategy": "follow_lowest", "currency": "EUR"}
    return PricingProfile(**(values | changes))


def test_a_minimal_profile_follows_the_lowest_without_bounds():
    made = profile()
    assert made.fallback_strategy is None
    assert made.markup_percent == made.beat_by_amount == made.beat_by_percent == 0
    assert made.min_price is made.max_price is made.margin_floor_percent is None
    assert made.charm_ending is made.max_change_percent is None
    assert made.problems() == []


def test_every_strategy_is_accepted_with_another_as_fallback():
    for strategy in STRATEGIES:
        fallback = next(other for other in STRATEGIES if other != strategy)
        assert profile(strategy=strategy, fallback_strategy=fallback).strategy == strategy


def test_a_full_profile_is_accepted():
    made = profile(
        fallback_strategy="markup_cost",
        markup_percent=D(30),
        beat_by_amount=D("0.50"),
        beat_by_percent=D("1.5"),
        min_price=D("10.00"),
        max_price=D("10.00"),  # min == max is a fixed price, not a contradiction
        margin_floor_percent=D(0),
        charm_ending=D("0.99"),
        max_change_percent=D(20),
    )
    assert made.max_price == D(10)


def test_currency_is_upper_cased():
    assert profile(currency=" eur ").currency == "EUR"


def test_new_fields_default_to_the_safe_side():
    made = profile()
    assert (made.use_other_marketplaces, made.min_source_percent, dict(made.category_vat_rates)) == (
        False,
        None,
        {},
    )


def test_reduced_vat_rates_are_normalized_and_checked():
    made = profile(category_vat_rates={" de ": {" Bücher ": D(7)}})
    assert made.category_vat_rates == {"DE": {"Bücher": D(7)}}
    with pytest.raises(InvalidProfile) as caught:
        profile(category_vat_rates={"Deutschland": {"Bücher": D(7)}, "PL": {"Książki": D(-5), "": D(5)}})
    assert [problem.loc for problem in caught.value.problems] == [
        ("category_vat_rates", "DEUTSCHLAND"),
        ("category_vat_rates", "PL", "Książki"),
        ("category_vat_rates", "PL", ""),
    ]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"min_price": D(500), "max_price": D(400)}, "min_price 500,00 EUR is above max_price 400,00 EUR"),
        ({"markup_percent": D(-5)}, "markup_percent must not be negative, got -5"),
        ({"beat_by_percent": D("-0.1")}, "beat_by_percent must not be negative, got -0.1"),
        ({"margin_floor_percent": D(-10)}, "margin_floor_percent must not be negative, got -10"),
        ({"max_change_percent": D(-1)}, "max_change_percent must not be negative, got -1"),
        ({"beat_by_amount": D(-1)}, "beat_by_amount must not be negative, got -1"),
        ({"beat_by_percent": D(100)}, "beat_by_percent must be below 100, got 100"),
        (
            {"strategy": "cheapest"},
            "unknown strategy 'cheapest': use one of follow_lowest, markup_cost, markup_source",
        ),
        (
            {"fallback_strategy": "lowest"},
            "unknown fallback_strategy 'lowest': "
            "use one of follow_lowest, markup_cost, markup_source or none",
        ),
        (
            {"fallback_strategy": "follow_lowest"},
            "fallback_strategy must differ from the strategy (both are follow_lowest)",
        ),
        ({"currency": "euro"}, "currency must be a three-letter currency code such as EUR, got 'EURO'"),
        ({"name": " "}, "name must not be empty"),
        ({"min_price": D(0)}, "min_price must be above zero, got 0"),
        ({"max_price": D("-1")}, "max_price must be above zero, got -1"),
        ({"min_price": D("9.999")}, "min_price must have at most 2 decimal places, got 9.999"),
        ({"beat_by_amount": D("0.001")}, "beat_by_amount must have at most 2 decimal places, got 0.001"),
        ({"charm_ending": D(1)}, "charm_ending must be below 1, got 1"),
        ({"charm_ending": D("0.999")}, "charm_ending must have at most 2 decimal places, got 0.999"),
        ({"charm_ending": D("-0.01")}, "charm_ending must not be negative, got -0.01"),
        ({"markup_percent": 0.5}, "markup_percent must be a Decimal, got float 0.5"),
        ({"markup_percent": None}, "markup_percent must be a Decimal, got NoneType None"),
        ({"margin_floor_percent": D("NaN")}, "margin_floor_percent must be a finite number, got NaN"),
        ({"margin_floor_percent": D(100)}, "margin_floor_percent must be below 100, got 100"),
        ({"min_source_percent": D(-1)}, "min_source_percent must not be negative, got -1"),
        ({"use_other_marketplaces": "yes"}, "use_other_marketplaces must be true or false"),
        (
            {"category_vat_rates": []},
            "category_vat_rates must be an object of countries to categories and rates",
        ),
    ],
)
def test_impossible_profiles_are_refused_with_a_clear_message(changes, problem):
    with pytest.raises(InvalidProfile) as caught:
        profile(**changes)
    assert caught.value.messages == [problem]
    # The problem is about the field changed (min_price for the bounds), and says so as data.
    assert [p.loc for p in caught.value.problems] == [(next(iter(changes)),)]
    assert str(caught.value) == f"pricing profile {changes.get('name', 'default')!r} is not valid: {problem}"


def test_every_problem_is_named_at_once():
    with pytest.raises(InvalidProfile) as caught:
        profile(strategy="x", markup_percent=D(-1), min_price=D(5), max_price=D(4))
    assert [problem.loc for problem in caught.value.problems] == [
        ("strategy",),
        ("markup_percent",),
        ("min_price",),
    ]
    assert "; " in str(caught.value)


def test_bounds_that_are_wrong_themselves_are_not_compared():
    with pytest.raises(InvalidProfile) as caught:
        profile(min_price=D("5.001"), max_price=D(4))
    assert caught.value.problems == [
        Problem(("min_price",), "min_price must have at most 2 decimal places, got 5.001")
    ]


def test_validate_passes_a_valid_profile_and_the_profile_is_frozen():
    made = profile()
    made.validate()
    with pytest.raises(AttributeError):
        made.min_price = D(1)  # type: ignore[misc]


class TestInCurrency:
    rates = ExchangeRates({"PLN": Decimal("4.25")}, date(2026, 11, 20))

    def test_amounts_converted_to_cents_percents_kept(self):
        profile = PricingProfile(
            "p", "follow_lowest", "EUR", beat_by_amount=Decimal("1.00"), beat_by_percent=Decimal(2),
            min_price=Decimal("10.00"), max_price=Decimal("99.99"), charm_ending=Decimal("0.99"),
        )  # fmt: skip

        pln = in_currency(profile, "pln", self.rates)

        assert (pln.currency, pln.beat_by_amount, pln.min_price, pln.max_price) == (
            "PLN", Decimal("4.25"), Decimal("42.50"), Decimal("424.96"),
        )  # fmt: skip
        assert (pln.beat_by_percent, pln.charm_ending) == (Decimal(2), Decimal("0.99"))

    def test_same_currency_is_the_same_profile(self):
        profile = PricingProfile("p", "follow_lowest", "EUR")
        assert in_currency(profile, "EUR", self.rates) is profile

    def test_missing_rate_raises(self):
        with pytest.raises(UnknownCurrency):
            in_currency(PricingProfile("p", "follow_lowest", "EUR", min_price=Decimal(1)), "CHF", self.rates)

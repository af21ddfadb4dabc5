"""price_product: each strategy, each step of the explanation, the statuses, and the invariants."""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pricing import (
    STRATEGIES,
    CompetitorOffer,
    ExchangeRates,
    InvalidPriceInput,
    PriceDecision,
    PriceInput,
    PricingProfile,
    price_product,
)

D = Decimal
RATES = ExchangeRates({"PLN": D("4.30"), "CZK": D("25.00")}, date(2026, 11, 20))
AT_RATE = "at 4,30 PLN/EUR (rates of 2026-11-20)"


def profile(**changes: Any) -> PricingProfile:
    values: dict[str, Any] = {"name": "default", "strategy": "follow_lowest", "currency": "EUR"}
    return PricingProfile(**(values | changes))


def product(**changes: Any) -> PriceInput:
    values: dict[str, Any] = {
        "source_price": None,
        "source_currency": "PLN",
        "cost": None,
        "competitors": (),
        "last_price": None,
        "marketplace_fee_percent": D(15),
    }
    return PriceInput(**(values | changes))


def offer(price: str, currency: str | None = "PLN", seller: str | None = "shop", in_stock: bool = True):
    return CompetitorOffer(seller, D(price), currency, in_stock)


def decide(inp: PriceInput, prof: PricingProfile) -> PriceDecision:
    return price_product(inp, prof, RATES)


class TestExplainedExample:
    """The example of the brief, step by step."""

    INPUT = product(cost=D(950), competitors=[offer("1299", seller="shop-1"), offer("1249", seller="shop-2")])
    PROFILE = profile(beat_by_percent=D(1), margin_floor_percent=D(10), charm_ending=D("0.99"))

    def test_decision(self):
        decision = decide(self.INPUT, self.PROFILE)
        assert decision.steps == [
            f"lowest in-stock competitor 1 249,00 PLN (shop-2) = 290,47 EUR {AT_RATE}",
            "beat by 1% → 287,57 EUR",
            "floor: cost 950,00 PLN = 220,93 EUR + fee 15% + margin 10% = 285,91 EUR: not hit",
            "rounded down to .99 → 286,99 EUR",
        ]
        assert (decision.price, decision.currency, decision.status) == (D("286.99"), "EUR", "priced")
        assert (decision.strategy_used, decision.floor, decision.reasons) == (
            "follow_lowest",
            D("285.91"),
            [],
        )
        assert [offer.converted_price for offer in decision.competitors] == [D("302.09"), D("290.47")]

    def test_to_json_is_plain_json_with_decimals_as_text(self):
        stored = json.loads(json.dumps(decide(self.INPUT, self.PROFILE).to_json()))
        assert stored["price"] == "286.99"
        assert stored["floor"] == "285.91"
        assert stored["status"] == "priced"
        assert stored["strategy_used"] == "follow_lowest"
        assert stored["currency"] == "EUR"
        assert stored["profile"] == "default"
        assert stored["rates_as_of"] == "2026-11-20"
        assert stored["reasons"] == []
        assert len(stored["steps"]) == 4
        assert stored["competitors"][1]["converted_price"] == "290.47"

    def test_no_price_to_json(self):
        stored = decide(product(), profile()).to_json()
        assert (stored["price"], stored["floor"], stored["strategy_used"]) == (None, None, None)
        json.dumps(stored)


class TestStrategies:
    def test_follow_lowest_matches_without_beat(self):
        decision = decide(product(competitors=[offer("300", None, seller=None)]), profile())
        assert decision.steps == ["lowest in-stock competitor 300,00 EUR", "match it → 300,00 EUR"]
        assert decision.price == D("300.00")

    def test_follow_lowest_beats_by_percent_then_amount(self):
        decision = decide(
            product(competitors=[offer("300", "EUR")]), profile(beat_by_percent=D("2.5"), beat_by_amount=D(1))
        )
        assert decision.steps[1:] == ["beat by 2,5% → 292,50 EUR", "beat by 1,00 EUR → 291,50 EUR"]
        assert decision.price == D("291.50")

    def test_follow_lowest_names_what_it_left_out(self):
        competitors = [
            offer("1", seller="bait"),
            offer("1240", seller="a", in_stock=False),
            offer("1250", seller="b"),
            offer("1260", seller="c"),
            offer("1200", "XYZ"),
        ]
        decision = decide(product(competitors=competitors), profile())
        assert (
            decision.steps[0]
            == "competitors: 2 of 5 counted (1 outlier, 1 out of stock, 1 unknown currency XYZ)"
        )
        assert decision.steps[1] == f"lowest in-stock competitor 1 250,00 PLN (b) = 290,70 EUR {AT_RATE}"

    def test_the_first_of_equally_cheap_competitors_is_named(self):
        decision = decide(product(competitors=[offer("10", "EUR", "x"), offer("10", "EUR", "y")]), profile())
        assert decision.steps[0] == "lowest in-stock competitor 10,00 EUR (x)"

    def test_markup_cost(self):
        decision = decide(product(cost=D(950)), profile(strategy="markup_cost", markup_percent=D(30)))
        assert decision.steps == [f"cost 950,00 PLN = 220,93 EUR {AT_RATE}", "markup 30% → 287,21 EUR"]
        assert (decision.price, decision.strategy_used) == (D("287.21"), "markup_cost")

    def test_markup_source(self):
        decision = decide(
            product(source_price=D(1299)), profile(strategy="markup_source", markup_percent=D(10))
        )
        assert decision.steps == [
            f"source price 1 299,00 PLN = 302,09 EUR {AT_RATE}",
            "markup 10% → 332,30 EUR",
        ]
        assert (decision.price, decision.strategy_used) == (D("332.30"), "markup_source")

    def test_markup_in_the_same_currency_shows_no_conversion(self):
        decision = decide(
            product(source_price=D(100), source_currency="EUR"), profile(strategy="markup_source")
        )
        assert decision.steps == ["source price 100,00 EUR", "markup 0% → 100,00 EUR"]

    def test_other_target_currencies(self):
        decision = decide(product(source_price=D(430)), profile(strategy="markup_source", currency="CZK"))
        assert (
            decision.steps[0]
            == "source price 430,00 PLN = 2 500,00 CZK at 5,814 CZK/PLN (rates of 2026-11-20)"
        )
        assert (decision.price, decision.currency) == (D("2500.00"), "CZK")


class TestFallback:
    def test_no_competitors_falls_back(self):
        decision = decide(
            product(cost=D(950)), profile(fallback_strategy="markup_cost", markup_percent=D(30))
        )
        assert (
            decision.steps[0]
            == "follow_lowest not possible: no competitor offers; using the fallback markup_cost"
        )
        assert (decision.strategy_used, decision.price, decision.status) == (
            "markup_cost",
            D("287.21"),
            "priced",
        )

    def test_competitors_that_cannot_be_followed_are_named(self):
        decision = decide(
            product(source_price=D(100), competitors=[offer("5", in_stock=False)] * 2),
            profile(fallback_strategy="markup_source"),
        )
        assert decision.steps[0] == (
            "follow_lowest not possible: no competitor offer can be followed (2 out of stock); "
            "using the fallback markup_source"
        )
        assert decision.strategy_used == "markup_source"

    def test_no_cost_falls_back_to_the_source_price(self):
        decision = decide(
            product(source_price=D(430)), profile(strategy="markup_cost", fallback_strategy="markup_source")
        )
        assert decision.steps[0] == "markup_cost not possible: no cost; using the fallback markup_source"
        assert decision.price == D("100.00")

    def test_nothing_to_base_a_price_on(self):
        decision = decide(product(), profile(fallback_strategy="markup_cost"))
        assert (decision.price, decision.status, decision.strategy_used) == (None, "no_price", None)
        assert decision.steps == [
            "follow_lowest not possible: no competitor offers; using the fallback markup_cost",
            "markup_cost not possible: no cost",
        ]
        assert decision.reasons == [
            "nothing to base a price on (follow_lowest: no competitor offers; markup_cost: no cost)"
        ]

    def test_without_a_fallback(self):
        decision = decide(product(), profile(strategy="markup_source"))
        assert decision.status == "no_price"
        assert decision.steps == ["markup_source not possible: no source price"]

    @pytest.mark.parametrize(
        ("currency", "why"),
        [(None, "the source price has no currency"), ("XYZ", "unknown currency XYZ of the source price")],
    )
    def test_a_source_price_that_cannot_be_converted(self, currency, why):
        decision = decide(
            product(source_price=D(10), source_currency=currency), profile(strategy="markup_source")
        )
        assert decision.status == "no_price"
        assert decision.steps == [f"markup_source not possible: {why}"]


class TestBounds:
    def test_min_price_raises(self):
        decision = decide(
            product(competitors=[offer("200", "EUR")]), profile(min_price=D(250), max_price=D(400))
        )
        assert decision.steps[2:] == [
            "min price 250,00 EUR: raised to 250,00 EUR",
            "max price 400,00 EUR: not hit",
        ]
        assert decision.price == D("250.00")

    def test_max_price_lowers(self):
        decision = decide(
            product(competitors=[offer("500", "EUR")]), profile(min_price=D(250), max_price=D(400))
        )
        assert decision.steps[2:] == [
            "min price 250,00 EUR: not hit",
            "max price 400,00 EUR: lowered to 400,00 EUR",
        ]
        assert decision.price == D("400.00")

    def test_the_floor_raises_after_the_bounds(self):
        decision = decide(
            product(cost=D(950), competitors=[offer("200", "EUR")]),
            profile(margin_floor_percent=D(10), min_price=D(250)),
        )
        assert decision.steps[2:] == [
            "min price 250,00 EUR: raised to 250,00 EUR",
            "floor: cost 950,00 PLN = 220,93 EUR + fee 15% + margin 10% = 285,91 EUR: raised to 285,91 EUR",
        ]
        assert (decision.price, decision.floor, decision.status) == (D("285.91"), D("285.91"), "priced")

    def test_the_floor_is_rounded_up_so_the_margin_holds(self):
        # 100 / (1 - 0.15) × 1.10 = 129.4117..., rounded up
        decision = decide(
            product(cost=D(100), source_currency="EUR", competitors=[offer("1", "EUR")]),
            profile(margin_floor_percent=D(10)),
        )
        assert decision.floor == D("129.42")
        assert (
            decision.steps[2]
            == "floor: cost 100,00 EUR + fee 15% + margin 10% = 129,42 EUR: raised to 129,42 EUR"
        )
        price = decision.price
        assert price is not None
        assert price * (1 - D("0.15")) >= D(100) * D("1.10")  # the margin holds after the fee

    def test_a_floor_above_the_max_price_needs_review_without_a_price(self):
        decision = decide(
            product(cost=D(950), competitors=[offer("200", "EUR")]),
            profile(margin_floor_percent=D(10), max_price=D(250), charm_ending=D("0.99")),
        )
        assert (decision.price, decision.status, decision.floor) == (None, "needs_review", D("285.91"))
        assert decision.steps[-1] == (
            "floor: cost 950,00 PLN = 220,93 EUR + fee 15% + margin 10% = 285,91 EUR: "
            "above the max price 250,00 EUR"
        )
        assert decision.reasons == [
            "floor above max price: the floor 285,91 EUR is above the max price 250,00 EUR; "
            "raise the max price or lower the margin"
        ]

    @pytest.mark.parametrize(
        ("changes", "why"),
        [
            ({"cost": None}, "no cost"),
            ({"cost": D(5), "source_currency": None}, "the cost has no currency"),
            ({"cost": D(5), "source_currency": "XYZ"}, "unknown currency XYZ of the cost"),
        ],
    )
    def test_a_margin_floor_that_cannot_be_computed_needs_review(self, changes, why):
        decision = decide(
            product(competitors=[offer("200", "EUR")], **changes), profile(margin_floor_percent=D(10))
        )
        assert (decision.price, decision.status, decision.floor) == (D("200.00"), "needs_review", None)
        assert decision.steps[-1] == f"floor: {why}, so the 10% margin is not checked"
        assert decision.reasons == [f"{why}: the 10% margin floor cannot be checked"]

    def test_no_floor_without_a_margin(self):
        decision = decide(product(cost=D(10_000), competitors=[offer("200", "EUR")]), profile())
        assert (decision.floor, decision.price, decision.status) == (None, D("200.00"), "priced")

    def test_a_price_at_or_below_zero_is_not_proposed(self):
        decision = decide(product(competitors=[offer("5", "EUR")]), profile(beat_by_amount=D(5)))
        assert (decision.price, decision.status) == (None, "needs_review")
        assert decision.steps[-1] == "no price: 0,00 EUR is not above zero"
        assert decision.reasons == ["the price 0,00 EUR is not above zero"]


class TestCharm:
    def test_rounds_up_when_down_would_cross_the_floor(self):
        decision = decide(
            product(cost=D(950), competitors=[offer("200", "EUR")]),
            profile(margin_floor_percent=D(10), charm_ending=D("0.99")),
        )
        assert (
            decision.steps[-1]
            == "rounded up to .99 → 285,99 EUR (down to 284,99 EUR would be below the floor 285,91 EUR)"
        )
        assert decision.price == D("285.99")

    def test_rounds_up_when_down_would_cross_the_min_price(self):
        decision = decide(
            product(competitors=[offer("100", "EUR")]), profile(min_price=D("100.50"), charm_ending=D("0.49"))
        )
        assert decision.steps[-1] == (
            "rounded up to .49 → 101,49 EUR (down to 100,49 EUR would be below the min price 100,50 EUR)"
        )
        assert decision.price == D("101.49")

    def test_keeps_the_price_when_no_ending_fits_the_bounds(self):
        decision = decide(
            product(competitors=[offer("300.55", "EUR")]),
            profile(min_price=D("300.50"), max_price=D("300.60"), charm_ending=D("0.99")),
        )
        assert decision.steps[-1] == (
            "kept 300,55 EUR: a .99 ending would be below the min price 300,50 EUR (299,99 EUR) "
            "or above the max price 300,60 EUR (300,99 EUR)"
        )
        assert (decision.price, decision.status) == (D("300.55"), "priced")

    def test_a_price_with_the_ending_stays(self):
        decision = decide(product(competitors=[offer("19.99", "EUR")]), profile(charm_ending=D("0.99")))
        assert decision.steps[-1] == "already ends in .99: 19,99 EUR"

    def test_never_below_a_cent(self):
        decision = decide(product(competitors=[offer("0.50", "EUR")]), profile(charm_ending=D(0)))
        assert decision.steps[-1] == "rounded up to .00 → 1,00 EUR (down to 0,00 EUR would be below 0,01 EUR)"


class TestMaxChange:
    def test_within_the_limit(self):
        decision = decide(
            product(competitors=[offer("287.21", "EUR")], last_price=D(280)),
            profile(max_change_percent=D(20)),
        )
        assert decision.steps[-1] == "change from the last price 280,00 EUR: +2,57%, within 20%"
        assert decision.status == "priced"

    def test_a_larger_change_needs_review_and_keeps_the_price(self):
        decision = decide(
            product(competitors=[offer("287.21", "EUR")], last_price=D(200)),
            profile(max_change_percent=D(20)),
        )
        assert (decision.price, decision.status) == (D("287.21"), "needs_review")
        assert (
            decision.steps[-1] == "change from the last price 200,00 EUR: +43,61%, more than the allowed 20%"
        )
        assert decision.reasons == [
            "the price changes by +43,61% from the last price 200,00 EUR, more than the allowed 20%"
        ]

    def test_a_drop_counts_too(self):
        decision = decide(
            product(competitors=[offer("70", "EUR")], last_price=D(100)), profile(max_change_percent=D(25))
        )
        assert decision.status == "needs_review"
        assert decision.steps[-1] == "change from the last price 100,00 EUR: -30%, more than the allowed 25%"

    def test_exactly_at_the_limit_is_allowed(self):
        decision = decide(
            product(competitors=[offer("120", "EUR")], last_price=D(100)), profile(max_change_percent=D(20))
        )
        assert decision.status == "priced"

    def test_just_over_the_limit_never_reads_as_the_limit(self):
        decision = decide(
            product(competitors=[offer("10000.01", "EUR")], last_price=D(10_000)),
            profile(max_change_percent=D(0)),
        )
        assert (
            decision.steps[-1] == "change from the last price 10 000,00 EUR: +0,01%, more than the allowed 0%"
        )

    def test_not_checked_without_a_last_price_or_a_limit(self):
        assert decide(product(competitors=[offer("9", "EUR")]), profile(max_change_percent=D(1))).steps[
            -1
        ] == ("match it → 9,00 EUR")
        assert decide(product(competitors=[offer("9", "EUR")], last_price=D(1)), profile()).status == "priced"


class TestInputValidation:
    @pytest.mark.parametrize(
        ("changes", "problem"),
        [
            ({"marketplace_fee_percent": D(100)}, "marketplace_fee_percent must be below 100, got 100"),
            ({"marketplace_fee_percent": D(-1)}, "marketplace_fee_percent must not be negative, got -1"),
            ({"marketplace_fee_percent": 15}, "marketplace_fee_percent must be a Decimal, got int 15"),
            ({"cost": D(-1)}, "cost must not be negative, got -1"),
            ({"source_price": D(0)}, "source_price must be above zero, got 0"),
            ({"last_price": D(0)}, "last_price must be above zero, got 0"),
            (
                {"source_currency": "zł"},
                "source_currency must be a three-letter currency code such as EUR, got 'ZŁ'",
            ),
            ({"competitors": [D(1)]}, "competitors must be CompetitorOffer values"),
        ],
    )
    def test_impossible_inputs_are_refused(self, changes, problem):
        with pytest.raises(InvalidPriceInput) as caught:
            product(**changes)
        assert caught.value.problems == [problem]
        assert str(caught.value) == f"pricing input is not valid: {problem}"

    def test_input_is_normalized_and_frozen(self):
        competitors = [offer("1")]
        inp = product(source_currency="pln", competitors=competitors)
        competitors.append(offer("2"))
        assert (inp.source_currency, inp.competitors) == ("PLN", (offer("1"),))


# Invariants, for any valid profile and input


def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    """Amounts with exactly two decimal places, from low to high cents (faster than st.decimals)."""
    return st.integers(min_value=low, max_value=high).map(lambda n: D(n).scaleb(-2))


def optional(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | values


money = cents(1, 10_000_000)
percents = cents(0, 20_000)
currencies = st.sampled_from(["EUR", "PLN", "CZK", "XYZ"])


fallbacks = {
    strategy: optional(st.sampled_from([other for other in STRATEGIES if other != strategy]))
    for strategy in STRATEGIES
}
width = cents(0, 200) | cents(0, 10_000_000)  # narrow bounds too: charm must keep the price there
beats_by_amount = st.sampled_from([D(0), D("0.01"), D(1), D(5)])
beats_by_percent = st.sampled_from([D(0), D("0.5"), D(1), D(10), D("99.99")])
charm_endings = optional(st.sampled_from([D(0), D("0.49"), D("0.9"), D("0.95"), D("0.99")]))
optional_percents = optional(percents)
has_bound = st.booleans()


@st.composite
def profiles(draw: st.DrawFn) -> PricingProfile:
    strategy = draw(st.sampled_from(STRATEGIES))
    low = draw(money)
    high = low + draw(width)
    return PricingProfile(
        name="p",
        strategy=strategy,
        currency=draw(st.sampled_from(["EUR", "PLN"])),
        fallback_strategy=draw(fallbacks[strategy]),
        markup_percent=draw(percents),
        beat_by_amount=draw(beats_by_amount),
        beat_by_percent=draw(beats_by_percent),
        min_price=low if draw(has_bound) else None,
        max_price=high if draw(has_bound) else None,
        margin_floor_percent=draw(optional_percents),
        charm_ending=draw(charm_endings),
        max_change_percent=draw(optional_percents),
    )


inputs = st.builds(
    PriceInput,
    source_price=optional(money),
    source_currency=st.sampled_from(["EUR", "PLN", "PLN", "CZK", "XYZ", None]),
    cost=optional(cents(0, 10_000_000)),
    competitors=st.lists(
        st.builds(
            CompetitorOffer, optional(st.sampled_from(["a", "b"])), money, optional(currencies), st.booleans()
        ),
        max_size=8,
    ),
    last_price=optional(money),
    marketplace_fee_percent=cents(0, 9_999),
)
exchange_rates = st.builds(
    lambda pln, czk: ExchangeRates({"PLN": pln, "CZK": czk}, date(2026, 11, 20)),
    st.integers(min_value=35_000, max_value=50_000).map(lambda n: D(n).scaleb(-4)),
    st.integers(min_value=20_000, max_value=30_000).map(lambda n: D(n).scaleb(-3)),
)


@settings(deadline=None, max_examples=200)
@given(inputs, profiles(), exchange_rates)
def test_invariants(inp, prof, rates):
    decision = price_product(inp, prof, rates)
    price, floor = decision.price, decision.floor
    assert decision.currency == prof.currency
    assert decision == price_product(inp, prof, rates)  # deterministic
    json.dumps(decision.to_json())
    assert all(not offer.is_outlier for offer in decision.competitors if not offer.in_stock)

    if decision.status == "no_price":
        assert price is None
        assert decision.strategy_used is None
        assert decision.reasons
        return
    assert decision.strategy_used in (prof.strategy, prof.fallback_strategy)
    assert (decision.status == "priced") == (not decision.reasons)
    if floor is not None and prof.max_price is not None and floor > prof.max_price:
        assert (price, decision.status) == (None, "needs_review")
        assert decision.reasons[0].startswith("floor above max price")
        return
    if price is None:
        assert decision.status == "needs_review"
        assert decision.reasons[-1].endswith("is not above zero")
        return

    assert price.as_tuple().exponent == -2
    assert price >= D("0.01")
    if floor is not None:
        assert price >= floor
    if prof.min_price is not None:
        assert price >= prof.min_price
    if prof.max_price is not None:
        assert price <= prof.max_price
    if prof.charm_ending is not None:
        if any(step.startswith("kept ") for step in decision.steps):
            assert prof.max_price is not None  # rounding up is refused only by a max price
        else:
            assert price % 1 == prof.charm_ending
    if decision.status == "priced" and inp.last_price is not None and prof.max_change_percent is not None:
        assert abs(price - inp.last_price) / inp.last_price * 100 <= prof.max_change_percent


@settings(deadline=None, max_examples=50)
@given(inputs, profiles())
def test_the_callers_decimal_context_changes_nothing(inp, prof):
    expected = price_product(inp, prof, RATES)
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = 4, ROUND_FLOOR
        assert price_product(inp, prof, RATES) == expected

"""price_product: each strategy, each step of the explanation, the statuses, and the invariants."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.pricing import (
    STRATEGIES,
    CompetitorOffer,
    ExchangeRates,
    InvalidPriceInput,
    PriceDecision,
    PriceInput,
    PricingProfile,
    VatRate,
    margin,
    price_per_fee,
    price_product,
)

D = Decimal
RATES = ExchangeRates({"PLN": D("4.30"), "CZK": D("25.00")}, date(2026, 11, 20))
AT_RATE = "at 4,30 PLN/EUR (rates of 2026-11-20)"
DE = VatRate("DE", D(19))
PL = VatRate("PL", D(23))


def profile(**changes: Any) -> PricingProfile:
    values: dict[str, Any] = {"name": "default", "strategy": "follow_lowest", "currency": "EUR"}
    return PricingProfile(**(values | changes))


def product(**changes: Any) -> PriceInput:
    """A product priced for Amazon.de (VAT 19 %, fee 15 %), its numbers in PLN."""
    values: dict[str, Any] = {
        "source_price": None,
        "source_currency": "PLN",
        "cost": None,
        "competitors": (),
        "last_price": None,
        "marketplace_fee_percent": D(15),
        "vat": DE,
        "marketplace": "amazon_de",
        "vat_rates": {"DE": DE, "PL": PL},
    }
    return PriceInput(**(values | changes))


def offer(
    price: str,
    currency: str | None = "PLN",
    seller: str | None = "shop",
    in_stock: bool = True,
    marketplace: str | None = "amazon_de",
):
    """An offer seen on Amazon.de (where the product is priced), unless told otherwise."""
    return CompetitorOffer(seller, D(price), currency, in_stock, marketplace)


def allegro(price: str, currency: str | None = "PLN", seller: str | None = "shop"):
    return offer(price, currency, seller, marketplace="allegro_pl")


def decide(inp: PriceInput, prof: PricingProfile) -> PriceDecision:
    return price_product(inp, prof, RATES)


def gross(net: Decimal, vat: Decimal = D(19)) -> Decimal:
    return (net * (1 + vat / 100)).quantize(D("0.01"))


def step(decision: PriceDecision, start: str) -> str:
    """The one step of the explanation that starts with `start`."""
    (found,) = [line for line in decision.steps if line.startswith(start)]
    return found


class TestExplainedExample:
    """The example of the brief, step by step: competitors on Amazon.de itself, a cost in PLN."""

    INPUT = product(cost=D(700), competitors=[offer("1299", seller="shop-1"), offer("1249", seller="shop-2")])
    PROFILE = profile(beat_by_percent=D(1), margin_floor_percent=D(10), charm_ending=D("0.99"))

    def test_decision(self):
        decision = decide(self.INPUT, self.PROFILE)
        assert decision.steps == [
            f"lowest in-stock competitor 1 249,00 PLN (shop-2) = 290,47 EUR {AT_RATE}",
            "beat by 1% → 287,57 EUR",
            "floor: cost 700,00 PLN = 162,79 EUR + fee 15% + VAT 19% (DE) + margin 10% = 268,50 EUR"
            " (225,63 EUR net): not hit",
            "rounded down to .99 → 286,99 EUR",
            "price 286,99 EUR with VAT 19% (DE): 241,17 EUR net + 45,82 EUR VAT",
            "margin 14,65% of the net price: 241,17 EUR net − fee 15% 43,05 EUR − cost 162,79 EUR"
            " = 35,33 EUR",
        ]
        assert (decision.price, decision.currency, decision.status) == (D("286.99"), "EUR", "priced")
        assert (decision.strategy_used, decision.floor, decision.reasons) == (
            "follow_lowest",
            D("268.50"),
            [],
        )
        assert (decision.vat_percent, decision.net_price, decision.margin_percent) == (
            D(19),
            D("241.17"),
            D("14.65"),
        )
        assert [offer.converted_price for offer in decision.competitors] == [D("302.09"), D("290.47")]

    def test_to_json_is_plain_json_with_decimals_as_text(self):
        stored = json.loads(json.dumps(decide(self.INPUT, self.PROFILE).to_json()))
        assert stored["price"] == "286.99"
        assert stored["floor"] == "268.50"
        assert stored["status"] == "priced"
        assert stored["strategy_used"] == "follow_lowest"
        assert stored["currency"] == "EUR"
        assert stored["profile"] == "default"
        assert stored["rates_as_of"] == "2026-11-20"
        assert stored["reasons"] == []
        assert (stored["vat_percent"], stored["net_price"], stored["margin_percent"]) == (
            "19",
            "241.17",
            "14.65",
        )
        assert len(stored["steps"]) == 6
        assert stored["competitors"][1]["converted_price"] == "290.47"
        assert stored["competitors"][1]["marketplace"] == "amazon_de"

    def test_no_price_to_json(self):
        stored = decide(product(), profile()).to_json()
        assert (stored["price"], stored["floor"], stored["strategy_used"]) == (None, None, None)
        assert (stored["net_price"], stored["margin_percent"]) == (None, None)
        json.dumps(stored)


class TestStrategies:
    def test_follow_lowest_matches_without_beat(self):
        decision = decide(product(competitors=[offer("300", "EUR", seller=None)]), profile())
        assert decision.steps[:2] == ["lowest in-stock competitor 300,00 EUR", "match it → 300,00 EUR"]
        assert decision.price == D("300.00")

    def test_follow_lowest_beats_by_percent_then_amount(self):
        decision = decide(
            product(competitors=[offer("300", "EUR")]), profile(beat_by_percent=D("2.5"), beat_by_amount=D(1))
        )
        assert decision.steps[1:3] == ["beat by 2,5% → 292,50 EUR", "beat by 1,00 EUR → 291,50 EUR"]
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

    def test_markup_cost_is_a_markup_on_the_net_cost_then_vat(self):
        decision = decide(product(cost=D(950)), profile(strategy="markup_cost", markup_percent=D(30)))
        assert decision.steps[:3] == [
            f"cost 950,00 PLN = 220,93 EUR {AT_RATE}",
            "markup 30% → 287,21 EUR net",
            "with VAT 19% (DE) → 341,78 EUR",
        ]
        assert (decision.price, decision.strategy_used) == (D("341.78"), "markup_cost")
        assert decision.price == gross(D("287.21"))

    def test_markup_source_takes_the_source_price_without_its_vat(self):
        decision = decide(
            product(source_price=D(1299), source_marketplace="allegro_pl"),
            profile(strategy="markup_source", markup_percent=D(10)),
        )
        assert decision.steps[:3] == [
            f"source price 1 299,00 PLN incl. VAT 23% (PL) = 1 056,10 PLN net = 245,60 EUR net {AT_RATE}",
            "markup 10% → 270,16 EUR net",
            "with VAT 19% (DE) → 321,49 EUR",
        ]
        assert (decision.price, decision.strategy_used) == (D("321.49"), "markup_source")

    def test_a_source_that_is_no_marketplace_is_taken_to_include_the_targets_vat(self):
        decision = decide(
            product(source_price=D(1299)), profile(strategy="markup_source", markup_percent=D(10))
        )
        assert decision.steps[:3] == [
            f"source price 1 299,00 PLN taken to include VAT 19% (DE) = 1 091,60 PLN net = 253,86 EUR net "
            f"{AT_RATE}",
            "markup 10% → 279,25 EUR net",
            "with VAT 19% (DE) → 332,31 EUR",
        ]
        assert decision.price == D("332.31")

    def test_markup_in_the_same_currency_shows_no_conversion(self):
        decision = decide(
            product(source_price=D(100), source_currency="EUR"), profile(strategy="markup_source")
        )
        assert decision.steps[:3] == [
            "source price 100,00 EUR taken to include VAT 19% (DE) = 84,03 EUR net",
            "markup 0% → 84,03 EUR net",
            "with VAT 19% (DE) → 100,00 EUR",
        ]

    def test_other_target_currencies(self):
        decision = decide(product(source_price=D(430)), profile(strategy="markup_source", currency="CZK"))
        assert decision.steps[0] == (
            "source price 430,00 PLN taken to include VAT 19% (DE) = 361,34 PLN net"
            " = 2 100,81 CZK net at 5,814 CZK/PLN (rates of 2026-11-20)"
        )
        assert (decision.price, decision.currency) == (D("2499.96"), "CZK")


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
            D("341.78"),
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
        assert decision.steps[2:4] == [
            "min price 250,00 EUR: raised to 250,00 EUR",
            "max price 400,00 EUR: not hit",
        ]
        assert decision.price == D("250.00")

    def test_max_price_lowers(self):
        decision = decide(
            product(competitors=[offer("500", "EUR")]), profile(min_price=D(250), max_price=D(400))
        )
        assert decision.steps[2:4] == [
            "min price 250,00 EUR: not hit",
            "max price 400,00 EUR: lowered to 400,00 EUR",
        ]
        assert decision.price == D("400.00")

    def test_the_floor_raises_after_the_bounds(self):
        decision = decide(
            product(cost=D(950), competitors=[offer("200", "EUR")]),
            profile(margin_floor_percent=D(10), min_price=D(250)),
        )
        assert decision.steps[2:4] == [
            "min price 250,00 EUR: raised to 250,00 EUR",
            "floor: cost 950,00 PLN = 220,93 EUR + fee 15% + VAT 19% (DE) + margin 10% = 364,39 EUR"
            " (306,21 EUR net): raised to 364,39 EUR",
        ]
        assert (decision.price, decision.floor, decision.status) == (D("364.39"), D("364.39"), "priced")

    def test_the_floor_is_rounded_up_so_the_margin_holds(self):
        # 100 × 1.19 / (1 − 0.10 − 0.15 × 1.19) = 164.9341..., rounded up
        decision = decide(
            product(cost=D(100), source_currency="EUR", competitors=[offer("1", "EUR")]),
            profile(margin_floor_percent=D(10)),
        )
        assert decision.floor == D("164.94")
        assert decision.steps[2] == (
            "floor: cost 100,00 EUR + fee 15% + VAT 19% (DE) + margin 10% = 164,94 EUR (138,61 EUR net):"
            " raised to 164,94 EUR"
        )
        price = decision.price
        assert price is not None
        net, fee = price / D("1.19"), price * D("0.15")
        assert net - fee - D(100) >= D("0.10") * net  # the margin holds after VAT and the fee
        cent_less = price - D("0.01")
        assert cent_less / D("1.19") - cent_less * D("0.15") - D(100) < D("0.10") * cent_less / D("1.19")
        assert decision.margin_percent == margin(price, D(100), D(15), D(19)).percent >= D(10)

    def test_a_floor_above_the_max_price_needs_review_without_a_price(self):
        decision = decide(
            product(cost=D(950), competitors=[offer("200", "EUR")]),
            profile(margin_floor_percent=D(10), max_price=D(250), charm_ending=D("0.99")),
        )
        assert (decision.price, decision.status, decision.floor) == (None, "needs_review", D("364.39"))
        assert decision.steps[-1] == (
            "floor: cost 950,00 PLN = 220,93 EUR + fee 15% + VAT 19% (DE) + margin 10% = 364,39 EUR"
            " (306,21 EUR net): above the max price 250,00 EUR"
        )
        assert decision.reasons == [
            "floor above max price: the floor 364,39 EUR is above the max price 250,00 EUR; "
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
        assert step(decision, "floor") == f"floor: {why}, so the 10% margin is not checked"
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
            step(decision, "rounded")
            == "rounded up to .99 → 364,99 EUR (down to 363,99 EUR would be below the floor 364,39 EUR)"
        )
        assert decision.price == D("364.99")

    def test_rounds_up_when_down_would_cross_the_min_price(self):
        decision = decide(
            product(competitors=[offer("100", "EUR")]), profile(min_price=D("100.50"), charm_ending=D("0.49"))
        )
        assert step(decision, "rounded") == (
            "rounded up to .49 → 101,49 EUR (down to 100,49 EUR would be below the min price 100,50 EUR)"
        )
        assert decision.price == D("101.49")

    def test_keeps_the_price_when_no_ending_fits_the_bounds(self):
        decision = decide(
            product(competitors=[offer("300.55", "EUR")]),
            profile(min_price=D("300.50"), max_price=D("300.60"), charm_ending=D("0.99")),
        )
        assert step(decision, "kept") == (
            "kept 300,55 EUR: a .99 ending would be below the min price 300,50 EUR (299,99 EUR) "
            "or above the max price 300,60 EUR (300,99 EUR)"
        )
        assert (decision.price, decision.status) == (D("300.55"), "priced")

    def test_a_price_with_the_ending_stays(self):
        decision = decide(product(competitors=[offer("19.99", "EUR")]), profile(charm_ending=D("0.99")))
        assert step(decision, "already") == "already ends in .99: 19,99 EUR"

    def test_never_below_a_cent(self):
        decision = decide(product(competitors=[offer("0.50", "EUR")]), profile(charm_ending=D(0)))
        assert step(decision, "rounded") == (
            "rounded up to .00 → 1,00 EUR (down to 0,00 EUR would be below 0,01 EUR)"
        )


class TestMaxChange:
    def test_within_the_limit(self):
        decision = decide(
            product(competitors=[offer("287.21", "EUR")], last_price=D(280)),
            profile(max_change_percent=D(20)),
        )
        assert step(decision, "change") == "change from the last price 280,00 EUR: +2,57%, within 20%"
        assert decision.status == "priced"

    def test_a_larger_change_needs_review_and_keeps_the_price(self):
        decision = decide(
            product(competitors=[offer("287.21", "EUR")], last_price=D(200)),
            profile(max_change_percent=D(20)),
        )
        assert (decision.price, decision.status) == (D("287.21"), "needs_review")
        assert (
            step(decision, "change")
            == "change from the last price 200,00 EUR: +43,61%, more than the allowed 20%"
        )
        assert decision.reasons == [
            "the price changes by +43,61% from the last price 200,00 EUR, more than the allowed 20%"
        ]

    def test_a_drop_counts_too(self):
        decision = decide(
            product(competitors=[offer("70", "EUR")], last_price=D(100)), profile(max_change_percent=D(25))
        )
        assert decision.status == "needs_review"
        assert (
            step(decision, "change")
            == "change from the last price 100,00 EUR: -30%, more than the allowed 25%"
        )

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
            step(decision, "change")
            == "change from the last price 10 000,00 EUR: +0,01%, more than the allowed 0%"
        )

    def test_not_checked_without_a_last_price_or_a_limit(self):
        unchecked = decide(product(competitors=[offer("9", "EUR")]), profile(max_change_percent=D(1)))
        assert not any(line.startswith("change") for line in unchecked.steps)
        assert decide(product(competitors=[offer("9", "EUR")], last_price=D(1)), profile()).status == "priced"


class TestVat:
    """Marketplace prices are gross; markups and floors are computed net, and the explanation gives
    both and the rate."""

    def test_a_price_computed_net_is_given_with_the_vat_of_the_marketplace(self):
        net_only = profile(strategy="markup_cost")
        german = decide(product(cost=D(430)), net_only)
        polish = decide(product(cost=D(430), vat=PL), net_only)
        assert (german.net_price, german.price) == (D("100.00"), D("119.00"))
        assert (polish.net_price, polish.price) == (D("100.00"), D("123.00"))
        assert german.vat_percent == D(19)

    def test_no_vat_leaves_the_net_price(self):
        decision = decide(product(cost=D(430), vat=VatRate("DE", D(0))), profile(strategy="markup_cost"))
        assert decision.price == decision.net_price == D("100.00")

    def test_the_explanation_shows_net_gross_and_the_rate_whatever_the_strategy(self):
        decision = decide(product(competitors=[offer("119", "EUR")]), profile())
        assert decision.steps[-1] == "price 119,00 EUR with VAT 19% (DE): 100,00 EUR net + 19,00 EUR VAT"
        assert decision.net_price == D("100.00")

    def test_a_reduced_rate_for_the_category_is_named_and_used(self):
        books = VatRate("DE", D(7), "Bücher")
        decision = decide(product(cost=D(430), vat=books), profile(strategy="markup_cost"))
        assert decision.steps[2] == "with VAT 7% (DE, reduced for Bücher) → 107,00 EUR"
        assert decision.price == D("107.00")

    def test_the_floor_takes_vat_out_and_the_margin_is_of_the_net_price(self):
        decision = decide(
            product(cost=D(430), competitors=[offer("1", "EUR")]), profile(margin_floor_percent=D(0))
        )
        # 100 EUR of cost, 19 % VAT, 15 % fee: 100 × 1.19 / (1 − 0.15 × 1.19) = 144.8569..., up
        assert decision.floor == decision.price == D("144.86")
        assert decision.margin_percent == D("0.00")
        assert decision.steps[-1] == (
            "margin 0% of the net price: 121,73 EUR net − fee 15% 21,73 EUR − cost 100,00 EUR = 0,00 EUR"
        )


class TestTheOneMargin:
    """Floor, explanation and the rules' margin_percent: (net − fee − cost) / net."""

    @pytest.mark.parametrize("vat", [D(0), D(7), D(19), D(23)])
    @pytest.mark.parametrize("fee", [D(0), D("10.5"), D(15)])
    @pytest.mark.parametrize("wanted", [D(0), D(10), D("12.5")])
    def test_the_floor_is_the_lowest_price_with_the_margin(self, vat, fee, wanted):
        decision = decide(
            product(
                cost=D("950"),
                competitors=[offer("1", "EUR")],
                marketplace_fee_percent=fee,
                vat=VatRate("DE", vat),
            ),
            profile(margin_floor_percent=wanted),
        )
        floor = decision.floor
        assert floor is not None
        cost = D(950) / D("4.30")
        assert margin(floor, cost, fee, vat).profit >= wanted / 100 * margin(floor, cost, fee, vat).net
        below = margin(floor - D("0.01"), cost, fee, vat)
        assert below.profit < wanted / 100 * below.net
        assert decision.margin_percent is not None
        assert decision.margin_percent >= wanted

    def test_at_margin_zero_the_floor_is_cost_plus_fee_plus_vat(self):
        decision = decide(
            product(cost=D(100), source_currency="EUR", competitors=[offer("1", "EUR")]),
            profile(margin_floor_percent=D(0)),
        )
        floor = decision.floor
        assert floor is not None
        vat, fee = floor - floor / D("1.19"), floor * D("0.15")
        assert floor - vat - fee >= D(100) > (floor - D("0.01")) * (1 / D("1.19") - D("0.15"))
        # 144.86, not the floor that forgets VAT (100 / 0.85 = 117.65) nor the fee (100 × 1.19 = 119).
        assert floor == D("144.86")

    def test_no_price_can_leave_the_margin_when_fee_and_vat_take_it_all(self):
        decision = decide(
            product(cost=D(10), competitors=[offer("290", "EUR")], marketplace_fee_percent=D(90)),
            profile(margin_floor_percent=D(0)),
        )
        assert (decision.price, decision.status, decision.floor) == (None, "needs_review", None)
        assert decision.steps[-1].endswith("margin 0%: no price leaves the margin")
        assert decision.reasons == [
            "no price leaves the 0% margin: the 90% fee and VAT 19% (DE) take too much of the price; "
            "lower the margin or the fee"
        ]

    def test_the_margin_of_a_price_above_the_floor_is_shown(self):
        decision = decide(product(cost=D(430), competitors=[offer("238", "EUR")]), profile())
        # 238 gross = 200 net; fee 15 % of 238 = 35.70; cost 100: 64.30 / 200 = 32.15 %
        assert decision.margin_percent == D("32.15")
        assert decision.steps[-1] == (
            "margin 32,15% of the net price: 200,00 EUR net − fee 15% 35,70 EUR − cost 100,00 EUR = 64,30 EUR"
        )


DEFAULT_PROFILE = profile(
    fallback_strategy="markup_source",
    beat_by_percent=D(1),
    charm_ending=D("0.99"),
    max_change_percent=D(20),
    margin_floor_percent=D(0),
    min_source_percent=D(80),
)


class TestSafeDefaults:
    """The seeded default profile (migration 0006): never below cost + fee + VAT with a cost; with
    none, not far below the source price without a person looking."""

    @settings(deadline=None, max_examples=200)
    @given(
        st.integers(min_value=1_000, max_value=1_000_000).map(lambda n: D(n).scaleb(-2)),
        st.lists(st.integers(min_value=1, max_value=1_000).map(lambda n: D(n).scaleb(-2)), max_size=5),
        st.sampled_from([D(10), D("10.5"), D(11), D(15)]),
        st.sampled_from([DE, PL, VatRate("DE", D(7), "Bücher")]),
        st.booleans(),
        st.sampled_from(["amazon_de", "allegro_pl"]),
    )
    def test_a_cost_above_every_competitor_is_never_priced_below_cost_fee_and_vat(
        self, cost, shares, fee, vat, other_marketplaces, seen_on
    ):
        competitors = [offer(f"{cost * share:.2f}", "EUR", marketplace=seen_on) for share in shares]
        assume(all(o.price < cost for o in competitors))
        decision = decide(
            product(
                cost=cost,
                source_currency="EUR",
                source_price=cost / 2,
                competitors=competitors,
                marketplace_fee_percent=fee,
                vat=vat,
            ),
            replace(DEFAULT_PROFILE, use_other_marketplaces=other_marketplaces),
        )
        if decision.price is not None:
            sale = margin(decision.price, cost, fee, vat.percent)
            assert decision.price - (decision.price - sale.net) - sale.fee >= cost  # VAT and fee out
            assert decision.margin_percent is not None
            assert decision.margin_percent >= 0

    def test_without_a_cost_a_price_far_below_the_source_price_is_held(self):
        decision = decide(product(source_price=D(1299), competitors=[offer("200", "EUR")]), DEFAULT_PROFILE)
        assert (decision.status, decision.price) == ("needs_review", D("197.99"))
        assert decision.reasons == [
            "no cost to check the margin, and the price's 166,38 EUR net is 65,54% of the source price's "
            "253,86 EUR net, below 80%"
        ]
        assert step(decision, "floor") == (
            "floor: no cost, so the 0% margin is not checked: the price is held against the source price"
            " instead"
        )

    def test_without_a_cost_a_price_near_the_source_price_goes_through(self):
        decision = decide(product(source_price=D(1299), competitors=[offer("290", "EUR")]), DEFAULT_PROFILE)
        assert (decision.status, decision.price) == ("priced", D("286.99"))
        assert step(decision, "source check") == (
            "source check, without a cost: 241,17 EUR net is 95% of the source price's 253,86 EUR net,"
            " at least 80%"
        )

    def test_without_a_cost_nor_a_source_price_the_price_is_held(self):
        decision = decide(product(competitors=[offer("290", "EUR")]), DEFAULT_PROFILE)
        assert decision.status == "needs_review"
        assert decision.reasons == ["no cost: the 0% margin floor cannot be checked"]

    def test_the_sample_product_on_amazon_de_from_its_allegro_offers(self):
        """Allegro offers do not price Amazon.de by default: the source price converted, at least
        cost + fee + VAT."""
        decision = decide(
            product(
                source_price=D("1299.99"),
                cost=D(950),
                source_marketplace="allegro_pl",
                competitors=[offer("1249", None, marketplace=None), offer("1", None, marketplace=None)],
            ),
            DEFAULT_PROFILE,
        )
        assert decision.strategy_used == "markup_source"
        assert decision.steps[0] == (
            "follow_lowest not possible: no competitor offer can be followed (2 seen on Allegro); "
            "the profile uses only the marketplace's own offers; using the fallback markup_source"
        )
        assert (decision.floor, decision.price, decision.status) == (D("320.04"), D("320.99"), "priced")


class TestCompetitorsOfOtherMarketplaces:
    def test_allegro_offers_do_not_price_amazon_de_unless_the_profile_says_so(self):
        inp = product(
            source_price=D(1299), competitors=[allegro("1299", seller="a"), allegro("1249", seller="b")]
        )
        decision = decide(inp, profile(fallback_strategy="markup_source", beat_by_percent=D(1)))
        assert decision.strategy_used == "markup_source"
        assert [o.reason for o in decision.competitors] == ["seen on Allegro", "seen on Allegro"]
        assert not any(o.counted for o in decision.competitors)
        assert decision.price == D("302.09")

    def test_allowed_they_are_converted_through_net_prices_and_named(self):
        inp = product(competitors=[allegro("1299", seller="a"), allegro("1249", seller="b")])
        decision = decide(inp, profile(beat_by_percent=D(1), use_other_marketplaces=True))
        assert decision.steps[:3] == [
            "offers of other marketplaces count, as the profile allows: 2 seen on Allegro",
            "lowest in-stock competitor 1 249,00 PLN (b, seen on Allegro) = 1 015,45 PLN net of VAT 23% (PL)"
            f" = 236,15 EUR net {AT_RATE} = 281,02 EUR with VAT 19% (DE)",
            "beat by 1% → 278,21 EUR",
        ]
        assert decision.price == D("278.21")

    def test_the_marketplaces_own_offers_count_and_the_others_are_named(self):
        inp = product(competitors=[allegro("900", seller="cheap"), offer("1249", seller="here")])
        decision = decide(inp, profile())
        assert decision.steps[:2] == [
            "competitors: 1 of 2 counted (1 seen on Allegro)",
            f"lowest in-stock competitor 1 249,00 PLN (here) = 290,47 EUR {AT_RATE}",
        ]

    def test_offers_naming_no_marketplace_were_seen_on_the_source(self):
        inp = product(competitors=[offer("1249", marketplace=None)], source_marketplace="allegro_pl")
        (evaluated,) = decide(inp, profile()).competitors
        assert (evaluated.marketplace, evaluated.counted, evaluated.reason) == (
            "allegro_pl",
            False,
            "seen on Allegro",
        )
        priced_there = decide(
            product(competitors=[offer("1249", marketplace=None)], source_marketplace="allegro_pl",
                    marketplace="allegro_pl", vat=PL),
            profile(currency="PLN"),
        )  # fmt: skip
        assert priced_there.price == D("1249.00")

    def test_an_offer_from_nowhere_we_know_counts_only_when_allowed(self):
        inp = product(competitors=[offer("300", "EUR", marketplace=None)])
        assert decide(inp, profile()).competitors[0].reason == "seen on an unknown marketplace"
        assert decide(inp, profile(use_other_marketplaces=True)).price == D("300.00")

    def test_without_a_marketplace_every_offer_counts(self):
        inp = product(competitors=[allegro("1249")], marketplace=None)
        assert decide(inp, profile()).price == D("290.47")


class TestCurrencies:
    def test_a_bare_number_on_allegro_is_read_in_pln_not_the_target_currency(self):
        inp = product(competitors=[allegro("1249", None)])
        decision = decide(inp, profile(use_other_marketplaces=True))
        assert decision.price == D("281.02")  # not 1 249 EUR × 1.19 / 1.23
        assert decision.steps[1] == "1 offer names no currency: PLN assumed, the currency of Allegro"
        assert decision.competitors[0].currency_assumed == "the currency of Allegro"

    def test_a_bare_number_of_no_known_marketplace_is_in_the_products_currency(self):
        inp = product(competitors=[offer("1249", None, marketplace=None)])
        decision = decide(inp, profile(use_other_marketplaces=True))
        assert decision.price == D("290.47")
        assert "1 offer names no currency: PLN assumed, the product's currency" in decision.steps

    def test_an_assumed_currency_is_said_first(self):
        why = "the product names no currency; its numbers are read in allegro's (SOURCE_CURRENCIES)"
        decision = decide(product(cost=D(430), currency_assumed=why), profile(strategy="markup_cost"))
        assert decision.steps[0] == f"currency PLN assumed: {why}"

    def test_no_currency_at_all_is_not_counted(self):
        inp = product(competitors=[offer("1249", None, marketplace=None)], source_currency=None)
        decision = decide(inp, profile(use_other_marketplaces=True))
        assert decision.status == "no_price"
        assert decision.competitors[0].reason == "no currency"


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
            ({"vat": D(19)}, "vat must be a VatRate, got Decimal"),
            ({"vat_rates": {"DE": D(19)}}, "vat_rates must map countries to VatRate values"),
            (
                {"marketplace": "etsy"},
                "unknown marketplace 'etsy'; known: amazon_de, amazon_pl, ebay_de, ebay_pl, kaufland_de, "
                "allegro_pl",
            ),
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
margins = cents(0, 9_999)
currencies = st.sampled_from(["EUR", "PLN", "CZK", "XYZ"])
marketplaces = st.sampled_from(["amazon_de", "allegro_pl", "ebay_pl", "etsy"])
vat_percents = st.sampled_from([D(0), D(7), D(19), D(23)])


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
        margin_floor_percent=draw(optional(margins)),
        charm_ending=draw(charm_endings),
        max_change_percent=draw(optional_percents),
        use_other_marketplaces=draw(st.booleans()),
        min_source_percent=draw(optional(cents(0, 15_000))),
    )


@st.composite
def inputs(draw: st.DrawFn) -> PriceInput:
    rates = {"DE": VatRate("DE", draw(vat_percents)), "PL": VatRate("PL", draw(vat_percents))}
    marketplace = draw(optional(st.sampled_from(["amazon_de", "allegro_pl"])))
    offers = st.builds(
        CompetitorOffer,
        optional(st.sampled_from(["a", "b"])),
        money,
        optional(currencies),
        st.booleans(),
        optional(marketplaces),
    )
    return PriceInput(
        source_price=draw(optional(money)),
        source_currency=draw(st.sampled_from(["EUR", "PLN", "PLN", "CZK", "XYZ", None])),
        cost=draw(optional(cents(0, 10_000_000))),
        competitors=draw(st.lists(offers, max_size=8)),
        last_price=draw(optional(money)),
        marketplace_fee_percent=draw(cents(0, 9_999)),
        vat=rates["PL" if marketplace == "allegro_pl" else "DE"],
        marketplace=marketplace,
        vat_rates=rates,
        source_marketplace=draw(optional(marketplaces)),
        currency_assumed=draw(st.sampled_from([None, "the currency of source allegro"])),
    )


exchange_rates = st.builds(
    lambda pln, czk: ExchangeRates({"PLN": pln, "CZK": czk}, date(2026, 11, 20)),
    st.integers(min_value=35_000, max_value=50_000).map(lambda n: D(n).scaleb(-4)),
    st.integers(min_value=20_000, max_value=30_000).map(lambda n: D(n).scaleb(-3)),
)


@settings(deadline=None, max_examples=200)
@given(inputs(), profiles(), exchange_rates, st.lists(cents(0, 4_000), max_size=3))
def test_deciding_for_several_fees_at_once_is_deciding_for_each(inp, prof, rates, fees):
    decisions = price_per_fee(inp, prof, rates, fees)

    assert decisions == [
        price_product(replace(inp, marketplace_fee_percent=fee), prof, rates) for fee in fees
    ]


def test_a_fee_out_of_range_is_refused_naming_it():
    with pytest.raises(InvalidPriceInput, match="marketplace_fee_percent must be below 100"):
        price_per_fee(product(), profile(), RATES, [D(10), D(100)])


@settings(deadline=None, max_examples=200)
@given(inputs(), profiles(), exchange_rates)
def test_invariants(inp, prof, rates):
    decision = price_product(inp, prof, rates)
    price, floor = decision.price, decision.floor
    assert decision.currency == prof.currency
    assert decision == price_product(inp, prof, rates)  # deterministic
    json.dumps(decision.to_json())
    assert all(not offer.is_outlier for offer in decision.competitors if not offer.in_stock)
    if inp.marketplace is not None and not prof.use_other_marketplaces:
        # a marketplace's own offers only, unless the profile says so
        assert all(offer.marketplace == inp.marketplace for offer in decision.competitors if offer.counted)

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
        assert decision.reasons[-1].endswith(("is not above zero", "lower the margin or the fee"))
        return

    assert price.as_tuple().exponent == -2
    assert price >= D("0.01")
    assert decision.vat_percent == inp.vat.percent
    assert decision.net_price is not None
    assert decision.net_price <= price
    if floor is not None:
        assert price >= floor
        assert prof.margin_floor_percent is not None
        assert decision.margin_percent is not None
        assert decision.margin_percent >= prof.margin_floor_percent  # the one margin holds at the floor
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
@given(inputs(), profiles())
def test_the_callers_decimal_context_changes_nothing(inp, prof):
    expected = price_product(inp, prof, RATES)
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = 4, ROUND_FLOOR
        assert price_product(inp, prof, RATES) == expected


def test_a_decision_says_whether_it_converted_between_currencies():
    """What tells an explanation its rates' age matters (services.pipeline.stages.price)."""
    euro = profile(strategy="markup_cost", markup_percent=D(10))
    assert decide(product(cost=D("430")), euro).rates_used  # PLN cost into EUR
    assert not decide(product(cost=D("100"), source_currency="EUR"), euro).rates_used
    assert decide(product(competitors=[offer("430.00")]), profile()).rates_used  # a PLN offer
    assert not decide(product(competitors=[offer("99.00", "EUR")]), profile()).rates_used

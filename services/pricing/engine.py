"""Price one product with a profile: a decision with its price, status and a seller-readable why.

Gross and net. A marketplace's prices are gross: they include the VAT of its country for this
product (``vat``: the standard rate, or a reduced one the profile sets for its category). Competitor
prices, ``min_price``, ``max_price``, ``last_price``, the floor and the price decided are gross;
net = gross / (1 + VAT/100). The cost is net. The source price is gross with the VAT of the source's
marketplace (``source_marketplace``), or, when the source is not a marketplace we know, taken to
include the target's VAT. Markups and floors are computed on net amounts; the result is shown
gross, and the explanation gives both and the VAT rate. The margin is services.pricing.margin's:
(net − fee − cost) / net, the fee being a percent of the gross price.

Rules (``price_product``), in order; each one adds a line to ``steps``:

0. A currency the product did not name but the caller assumed (``currency_assumed``: the currency
   of bare numbers configured for its source) is said first.
1. Base price, in the profile's currency, by the profile's strategy; when it cannot run (no counted
   competitor, no cost, no source price, no rate for a currency) by the fallback strategy. When
   neither can run: status "no_price", price None.
   * follow_lowest: the lowest counted competitor (services.pricing.competitors: on a marketplace,
     only its own offers count unless the profile ``use_other_marketplaces``; those from elsewhere
     are converted through net prices), beaten by ``beat_by_percent`` then ``beat_by_amount``.
   * markup_cost: cost (net) × (1 + markup) = net, then with VAT.
   * markup_source: source price without its VAT, converted, × (1 + markup) = net, then with VAT.
2. Every amount is rounded to cents (half up) where a step shows it, and the next step continues
   from that amount, so a seller can redo the arithmetic from the explanation.
3. Bounds: raised to ``min_price``, lowered to ``max_price``, raised to the floor. The floor (only
   when the profile sets ``margin_floor_percent``) is the lowest gross price that leaves that margin:
       floor = cost_in_target × (1 + VAT) / (1 − margin − fee × (1 + VAT))
   computed from the unrounded converted cost and rounded UP to the cent, so the margin holds; with
   a margin of 0 it is cost + fee + VAT.
   * No price can leave the margin (the fee and VAT take more than 100 − margin % of the net
     price): status "needs_review", price None.
   * A floor above ``max_price``: status "needs_review", reason "floor above max price...", and
     price None: a price outside the seller's own bounds is never proposed (the floor is in
     ``floor``).
   * A margin floor that cannot be computed (no cost, or no currency or rate for it): the price
     is computed but needs review, since nobody checked that it keeps the margin, unless the source
     check (rule 5) can run instead.
   * A price that ends at zero or below (beating a cheap competitor by more than its price, with
     no floor or min to stop it): needs review, price None.
4. Charm ending (rounding.apply_charm): down to the ending, up when down would cross the floor or
   min price and up stays within the max price, otherwise kept unrounded.
5. Source check: when the cost is unknown and the profile sets ``min_source_percent``, a price whose
   net is below that share of the source price's net (converted) needs review; the price is still
   given. (No source price either: a margin floor cannot be checked, rule 3.)
6. A price that moves from ``last_price`` by more than ``max_change_percent`` (of the last price)
   needs review; the price is still given, for the reviewer.
7. Last, the price taken apart: net + VAT, and, with a known cost, the margin.

Status "priced" means nothing needs a person; ``reasons`` says why when it is anything else.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_UP, Decimal, localcontext
from types import MappingProxyType
from typing import Any, Literal

from services.marketplaces import MARKETPLACES
from services.pricing.competitors import (
    CompetitorOffer,
    EvaluatedOffer,
    Market,
    clean_competitors,
    marketplace_name,
    rate_text,
)
from services.pricing.margin import floor_price, margin
from services.pricing.money import (
    CENT,
    DECIMAL_CONTEXT,
    HUNDRED,
    ExchangeRates,
    UnknownCurrency,
    currency_problem,
    format_money,
    format_percent,
    number_problem,
    to_cents,
)
from services.pricing.profiles import PricingProfile, Strategy
from services.pricing.rounding import apply_charm, ending_text
from services.pricing.vat import VatRate, gross_of, net_of

Status = Literal["priced", "needs_review", "no_price"]


class InvalidPriceInput(ValueError):
    """The product's pricing data is impossible; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"pricing input is not valid: {'; '.join(problems)}")


@dataclass(frozen=True, slots=True)
class PriceInput:
    """What is known about one product on one marketplace.

    ``cost`` (net) and ``source_price`` (gross) are in ``source_currency``; ``last_price`` (gross)
    is in the profile's currency; ``marketplace_fee_percent`` is from 0 to below 100, of the gross
    price. ``vat`` is the VAT in the prices of ``marketplace`` for this product; ``vat_rates`` the
    product's rates by country, for the other marketplaces' offers and the source price.
    ``marketplace`` None: no marketplace in particular (every offer is taken as seen there).
    ``source_marketplace``: the source, when it is a marketplace (its offers that name none were seen
    there, and its VAT is in the source price). ``currency_assumed``: why ``source_currency`` was
    assumed, when the product named none.

    The competitors are kept as a tuple, so the input cannot change after it was made.
    """

    source_price: Decimal | None
    source_currency: str | None
    cost: Decimal | None
    competitors: Sequence[CompetitorOffer]
    last_price: Decimal | None
    marketplace_fee_percent: Decimal
    vat: VatRate
    marketplace: str | None = None
    vat_rates: Mapping[str, VatRate] = field(default_factory=lambda: MappingProxyType({}))
    source_marketplace: str | None = None
    currency_assumed: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.source_currency, str):
            object.__setattr__(self, "source_currency", self.source_currency.strip().upper())
        object.__setattr__(self, "competitors", tuple(self.competitors))
        if isinstance(self.vat_rates, Mapping):
            object.__setattr__(self, "vat_rates", MappingProxyType(dict(self.vat_rates)))
        problems = []
        if self.source_currency is not None and (
            problem := currency_problem("source_currency", self.source_currency)
        ):
            problems.append(problem)
        optional: list[tuple[str, Decimal | None, bool]] = [
            ("source_price", self.source_price, True),
            ("cost", self.cost, False),
            ("last_price", self.last_price, True),
        ]
        for name, value, positive in optional:
            if value is not None and (problem := number_problem(name, value, positive=positive)):
                problems.append(problem)
        if problem := number_problem("marketplace_fee_percent", self.marketplace_fee_percent, below=HUNDRED):
            problems.append(problem)
        if not all(isinstance(offer, CompetitorOffer) for offer in self.competitors):
            problems.append("competitors must be CompetitorOffer values")
        if not isinstance(self.vat, VatRate):
            problems.append(f"vat must be a VatRate, got {type(self.vat).__name__}")
        if not isinstance(self.vat_rates, Mapping) or not all(
            isinstance(rate, VatRate) for rate in self.vat_rates.values()
        ):
            problems.append("vat_rates must map countries to VatRate values")
        if self.marketplace is not None and self.marketplace not in MARKETPLACES:
            problems.append(f"unknown marketplace {self.marketplace!r}; known: {', '.join(MARKETPLACES)}")
        if problems:
            raise InvalidPriceInput(problems)


@dataclass(frozen=True, slots=True)
class PriceDecision:
    """The price chosen for a product (or why there is none), and how, step by step.

    ``price`` and ``floor`` are gross; ``net_price`` is the price without ``vat_percent``;
    ``margin_percent`` the price's margin (services.pricing.margin), when the cost is known."""

    price: Decimal | None
    currency: str
    status: Status
    strategy_used: Strategy | None
    floor: Decimal | None
    competitors: list[EvaluatedOffer]
    steps: list[str]
    reasons: list[str] = field(default_factory=list)
    profile: str = ""
    rates_as_of: date | None = None
    vat_percent: Decimal | None = None
    net_price: Decimal | None = None
    margin_percent: Decimal | None = None
    rates_used: bool = False  # an amount was converted between currencies with `rates_as_of`'s rates

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, for a jsonb price-history row: Decimals as strings, the date as ISO text."""
        return {
            "price": _text(self.price),
            "currency": self.currency,
            "status": self.status,
            "strategy_used": self.strategy_used,
            "floor": _text(self.floor),
            "competitors": [offer.to_json() for offer in self.competitors],
            "steps": list(self.steps),
            "reasons": list(self.reasons),
            "profile": self.profile,
            "rates_as_of": None if self.rates_as_of is None else self.rates_as_of.isoformat(),
            "vat_percent": _text(self.vat_percent),
            "net_price": _text(self.net_price),
            "margin_percent": _text(self.margin_percent),
            "rates_used": self.rates_used,
        }


@dataclass(frozen=True, slots=True)
class _Floor:
    amount: Decimal | None  # gross; None: no margin floor, it could not be computed, or no price keeps it
    text: str  # "floor: cost 950,00 PLN = 220,93 EUR + fee 15% + VAT 19% (DE) + margin 10% = ...", or why not
    impossible: bool = False  # no price leaves the margin


class _CannotRun(Exception):
    """A strategy lacks what it needs; the message says what, e.g. "no cost"."""


def price_product(inp: PriceInput, profile: PricingProfile, rates: ExchangeRates) -> PriceDecision:
    """Decide the price of one product; see the module's rules. Pure: no I/O, same input, same result."""
    with localcontext(DECIMAL_CONTEXT):
        pricing = _Pricing(inp, profile, rates)
        return pricing.finish(pricing.base())


def price_per_fee(
    inp: PriceInput, profile: PricingProfile, rates: ExchangeRates, fees: Sequence[Decimal]
) -> list[PriceDecision]:
    """`price_product` for each of `fees` in turn as the marketplace fee (marketplaces of one currency
    and VAT whose offers count alike differ only there): decision i is price_product's with
    `marketplace_fee_percent=fees[i]`. The competitors, the cost and the base price, which no fee
    changes, are worked out once; only the floor, the bounds and the margin are worked out per fee."""
    problems = [
        problem
        for fee in fees
        if (problem := number_problem("marketplace_fee_percent", fee, below=HUNDRED)) is not None
    ]
    if problems:
        raise InvalidPriceInput(problems)
    with localcontext(DECIMAL_CONTEXT):
        pricing = _Pricing(inp, profile, rates)
        based = pricing.base()
        return [pricing.with_fee(fee).finish(based) for fee in fees]


class _Pricing:
    """One run of price_product: the inputs, and the steps and reasons gathered on the way."""

    def __init__(self, inp: PriceInput, profile: PricingProfile, rates: ExchangeRates) -> None:
        self.inp, self.profile, self.rates = inp, profile, rates
        self.currency = profile.currency
        self.converted = False
        self.vat = inp.vat
        self.fee = inp.marketplace_fee_percent
        market = Market(
            currency=profile.currency,
            marketplace=inp.marketplace,
            vat=inp.vat,
            vat_rates=inp.vat_rates,
            other_marketplaces=profile.use_other_marketplaces,
            seen_on=inp.source_marketplace,
            bare_currency=inp.source_currency,
            bare_currency_why=inp.currency_assumed or "the product's currency",
        )
        self.offers = clean_competitors(
            inp.competitors, currency=profile.currency, rates=rates, market=market
        )
        self.steps: list[str] = []
        self.reasons: list[str] = []
        self.cost: tuple[Decimal, str, Decimal] | None = None  # the cost, its currency, in the target
        self.cost_problem = ""
        # The source price's net in the target currency, or why not: asked up to three times.
        self.source_net: tuple[Decimal, str] | str | None = None
        try:
            self.cost = self._cost_in_target()
        except _CannotRun as cannot:
            self.cost_problem = str(cannot)

    def base(self) -> tuple[Strategy, Decimal] | None:
        """Steps 0 and 1 (the assumed currency, the base price): what no marketplace fee changes."""
        if self.inp.currency_assumed and self.inp.source_currency:
            self.steps.append(f"currency {self.inp.source_currency} assumed: {self.inp.currency_assumed}")
        return self._base_price()

    def with_fee(self, fee: Decimal) -> _Pricing:
        """A copy of this run so far (its steps, reasons and flags), to finish with another fee."""
        run = copy.copy(self)
        run.fee, run.steps, run.reasons = fee, list(self.steps), list(self.reasons)
        return run

    def finish(self, based: tuple[Strategy, Decimal] | None) -> PriceDecision:
        """Steps 3 to 7 from the base price."""
        if based is None:
            return self._decision(None, None, None)
        strategy, price = based
        floor = self._floor()
        if floor.impossible:
            self.steps.append(floor.text)
            return self._decision(None, strategy, None)
        lower_name, lower = self._lower_bound(floor.amount)
        upper = self.profile.max_price

        if floor.amount is not None and upper is not None and floor.amount > upper:
            max_text = format_money(upper, self.currency)
            self.steps.append(f"{floor.text}: above the max price {max_text}")
            self.reasons.append(
                f"floor above max price: the floor {self._money(floor.amount)} is above the max "
                f"price {max_text}; raise the max price or lower the margin"
            )
            return self._decision(None, strategy, floor.amount)

        price = self._bounded(price, floor)
        if price < CENT:
            self.reasons.append(f"the price {self._money(price)} is not above zero")
            self.steps.append(f"no price: {self._money(price)} is not above zero")
            return self._decision(None, strategy, floor.amount)
        if self.profile.charm_ending is not None:
            price = self._charmed(price, lower_name, lower)
        self._check_source(price)
        self._check_change(price)
        return self._decision(price, strategy, floor.amount)

    # 1. the base price

    def _base_price(self) -> tuple[Strategy, Decimal] | None:
        tried = []
        strategies = [self.profile.strategy]
        if self.profile.fallback_strategy is not None:
            strategies.append(self.profile.fallback_strategy)
        for number, strategy in enumerate(strategies):
            steps_before = len(self.steps)
            try:
                return strategy, self._run(strategy)
            except _CannotRun as cannot:
                del self.steps[steps_before:]  # half-done steps of a strategy that did not run
                tried.append(f"{strategy}: {cannot}")
                if number + 1 < len(strategies):
                    self.steps.append(
                        f"{strategy} not possible: {cannot}; using the fallback {strategies[-1]}"
                    )
                else:
                    self.steps.append(f"{strategy} not possible: {cannot}")
        self.reasons.append(f"nothing to base a price on ({'; '.join(tried)})")
        return None

    def _run(self, strategy: Strategy) -> Decimal:
        if strategy == "follow_lowest":
            return self._follow_lowest()
        if strategy == "markup_cost":
            return self._with_vat(self._markup(self._cost_step()))
        net, text = self._source_in_target()
        self.steps.append(text)
        return self._with_vat(self._markup(net))

    def _follow_lowest(self) -> Decimal:
        counted = [offer for offer in self.offers if offer.counted]
        if not counted:
            raise _CannotRun(self._no_competitor_text())
        if len(counted) < len(self.offers):
            self.steps.append(
                f"competitors: {len(counted)} of {len(self.offers)} counted ({self._left_out()})"
            )
        self._explain_offers(counted)
        # The first of the cheapest in the given order, so the seller named is always the same one.
        lowest = min(counted, key=_converted)
        price = _converted(lowest)
        assert lowest.currency is not None  # counted offers have one
        named = [lowest.seller] if lowest.seller else []
        if self._elsewhere(lowest):
            named.append(f"seen on {marketplace_name(lowest.marketplace)}")
        seller = f" ({', '.join(named)})" if named else ""
        text = f"lowest in-stock competitor {format_money(lowest.price, lowest.currency)}{seller}"
        if lowest.conversion:
            text += f" {lowest.conversion}"
        self.steps.append(text)

        profile = self.profile
        if profile.beat_by_percent == 0 and profile.beat_by_amount == 0:
            self.steps.append(f"match it → {self._money(price)}")
            return price
        if profile.beat_by_percent:
            price = to_cents(price * (1 - profile.beat_by_percent / HUNDRED))
            self.steps.append(f"beat by {format_percent(profile.beat_by_percent)} → {self._money(price)}")
        if profile.beat_by_amount:
            price -= profile.beat_by_amount
            self.steps.append(f"beat by {self._money(profile.beat_by_amount)} → {self._money(price)}")
        return price

    def _elsewhere(self, offer: EvaluatedOffer) -> bool:
        return self.inp.marketplace is not None and offer.marketplace != self.inp.marketplace

    def _explain_offers(self, counted: list[EvaluatedOffer]) -> None:
        """Which counted offers came from other marketplaces, and whose currency was assumed."""
        elsewhere = Counter(marketplace_name(o.marketplace) for o in counted if self._elsewhere(o))
        if elsewhere:
            seen = ", ".join(f"{count} seen on {name}" for name, count in elsewhere.items())
            self.steps.append(f"offers of other marketplaces count, as the profile allows: {seen}")
        assumed = Counter((o.currency, o.currency_assumed) for o in counted if o.currency_assumed)
        for (currency, why), count in assumed.items():
            offers = "offer names" if count == 1 else "offers name"
            self.steps.append(f"{count} {offers} no currency: {currency} assumed, {why}")

    def _no_competitor_text(self) -> str:
        if not self.offers:
            return "no competitor offers"
        text = f"no competitor offer can be followed ({self._left_out()})"
        if any(o.reason and o.reason.startswith("seen on ") for o in self.offers):
            text += "; the profile uses only the marketplace's own offers"
        return text

    def _left_out(self) -> str:
        """'1 out of stock, 2 outliers, 1 unknown currency XYZ' for the offers not counted."""
        kinds = Counter(
            "outlier" if offer.is_outlier else offer.reason or ""
            for offer in self.offers
            if not offer.counted
        )
        return ", ".join(
            f"{count} {'outliers' if kind == 'outlier' and count > 1 else kind}"
            for kind, count in kinds.items()
        )

    def _cost_step(self) -> Decimal:
        """The cost in the target currency, rounded, with a step (it is net of VAT)."""
        if self.cost is None:
            raise _CannotRun(self.cost_problem)
        cost, source, exact = self.cost
        converted = to_cents(exact)
        text = f"cost {format_money(cost, source)}"
        if source != self.currency:
            text += f" = {self._money(converted)} at {self._rate_text(source)}"
        self.steps.append(text)
        return converted

    def _source_in_target(self) -> tuple[Decimal, str]:
        """The source price without its VAT, in the target currency (rounded), and its step."""
        if self.source_net is None:
            try:
                self.source_net = self._source_net()
            except _CannotRun as cannot:
                self.source_net = str(cannot)
        if isinstance(self.source_net, str):
            raise _CannotRun(self.source_net)
        return self.source_net

    def _source_net(self) -> tuple[Decimal, str]:
        amount, source = self.inp.source_price, self.inp.source_currency
        if amount is None:
            raise _CannotRun("no source price")
        if source is None:
            raise _CannotRun("the source price has no currency")
        vat = self._source_vat()
        if vat is None:
            vat, included = self.vat, f"taken to include {self.vat.text()}"
        else:
            included = f"incl. {vat.text()}"
        net = to_cents(net_of(amount, vat.percent))
        text = f"source price {format_money(amount, source)} {included} = {format_money(net, source)} net"
        if source != self.currency:
            try:
                net = to_cents(self.rates.convert(net, source, self.currency))
            except UnknownCurrency:
                raise _CannotRun(f"unknown currency {source} of the source price") from None
            text += f" = {self._money(net)} net at {self._rate_text(source)}"
        return net, text

    def _source_vat(self) -> VatRate | None:
        """The VAT in the source price: its marketplace's, for this product; None when not known."""
        source = self.inp.source_marketplace
        if source is None or source not in MARKETPLACES:
            return None
        return self.inp.vat_rates.get(MARKETPLACES[source].country)

    def _markup(self, amount: Decimal) -> Decimal:
        price = to_cents(amount * (1 + self.profile.markup_percent / HUNDRED))
        self.steps.append(f"markup {format_percent(self.profile.markup_percent)} → {self._money(price)} net")
        return price

    def _with_vat(self, net: Decimal) -> Decimal:
        price = to_cents(gross_of(net, self.vat.percent))
        self.steps.append(f"with {self.vat.text()} → {self._money(price)}")
        return price

    # 3. bounds

    def _floor(self) -> _Floor:
        margin_percent = self.profile.margin_floor_percent
        if margin_percent is None:
            return _Floor(None, "")
        wanted = f"the {format_percent(margin_percent)} margin"
        if self.cost is None:
            cannot = self.cost_problem
            if self._source_check_possible():
                return _Floor(
                    None,
                    f"floor: {cannot}, so {wanted} is not checked: the price is held against"
                    " the source price instead",
                )
            self.reasons.append(f"{cannot}: {wanted} floor cannot be checked")
            return _Floor(None, f"floor: {cannot}, so {wanted} is not checked")
        cost, source, exact = self.cost
        fee = self.fee
        floor = floor_price(exact, margin_percent, fee, self.vat.percent)
        cost_text = f"cost {format_money(cost, source)}"
        if source != self.currency:
            cost_text += f" = {self._money(to_cents(exact))}"
        parts = (
            f"{cost_text} + fee {format_percent(fee)} + {self.vat.text()}"
            f" + margin {format_percent(margin_percent)}"
        )
        if floor.gross is None or floor.net is None:
            self.reasons.append(
                f"no price leaves {wanted}: the {format_percent(fee)} fee and {self.vat.text()} take "
                f"too much of the price; lower the margin or the fee"
            )
            return _Floor(None, f"floor: {parts}: no price leaves the margin", impossible=True)
        text = f"floor: {parts} = {self._money(floor.gross)} ({self._money(floor.net)} net)"
        return _Floor(floor.gross, text)

    def _cost_in_target(self) -> tuple[Decimal, str, Decimal]:
        """The cost, its currency, and the cost in the target currency, not rounded."""
        cost, source = self.inp.cost, self.inp.source_currency
        if cost is None:
            raise _CannotRun("no cost")
        if source is None:
            raise _CannotRun("the cost has no currency")
        try:
            converted = self.rates.convert(cost, source, self.currency)
        except UnknownCurrency:
            raise _CannotRun(f"unknown currency {source} of the cost") from None
        self.converted = self.converted or source != self.currency
        return cost, source, converted

    def _lower_bound(self, floor: Decimal | None) -> tuple[str, Decimal | None]:
        """The higher of the floor and the min price, named for a step."""
        minimum = self.profile.min_price
        if floor is not None and (minimum is None or floor >= minimum):
            return f"the floor {self._money(floor)}", floor
        if minimum is not None:
            return f"the min price {self._money(minimum)}", minimum
        return f"{self._money(CENT)}", None

    def _bounded(self, price: Decimal, floor: _Floor) -> Decimal:
        minimum, maximum = self.profile.min_price, self.profile.max_price
        if minimum is not None:
            hit = price < minimum
            price = max(price, minimum)
            self.steps.append(f"min price {self._money(minimum)}: {self._hit('raised', hit, price)}")
        if maximum is not None:
            hit = price > maximum
            price = min(price, maximum)
            self.steps.append(f"max price {self._money(maximum)}: {self._hit('lowered', hit, price)}")
        if floor.amount is not None:
            hit = price < floor.amount
            price = max(price, floor.amount)
            self.steps.append(f"{floor.text}: {self._hit('raised', hit, price)}")
        elif floor.text:
            self.steps.append(floor.text)
        return price

    def _hit(self, verb: str, hit: bool, price: Decimal) -> str:
        return f"{verb} to {self._money(price)}" if hit else "not hit"

    # 4. charm ending

    def _charmed(self, price: Decimal, lower_name: str, lower: Decimal | None) -> Decimal:
        ending = self.profile.charm_ending
        assert ending is not None
        upper = self.profile.max_price
        result = apply_charm(price, ending, lower=lower, upper=upper)
        end = ending_text(ending)
        if result.outcome == "unchanged":
            self.steps.append(f"already ends in {end}: {self._money(price)}")
        elif result.outcome == "down":
            self.steps.append(f"rounded down to {end} → {self._money(result.price)}")
        elif result.outcome == "up":
            self.steps.append(
                f"rounded up to {end} → {self._money(result.price)} "
                f"(down to {self._money(result.down)} would be below {lower_name})"
            )
        else:
            above = f"the max price {self._money(upper)}" if upper is not None else "no bound"
            self.steps.append(
                f"kept {self._money(price)}: a {end} ending would be below {lower_name} "
                f"({self._money(result.down)}) or above {above} ({self._money(result.up)})"
            )
        return result.price

    # 5. the source check, without a cost

    def _source_check_possible(self) -> bool:
        if self.profile.min_source_percent is None or self.cost is not None:
            return False
        try:
            net, _ = self._source_in_target()
        except _CannotRun:
            return False
        return net > 0

    def _check_source(self, price: Decimal) -> None:
        minimum = self.profile.min_source_percent
        if minimum is None or not self._source_check_possible():
            return
        source_net, _ = self._source_in_target()
        net = to_cents(net_of(price, self.vat.percent))
        share = net / source_net * HUNDRED
        below = share < minimum
        shown = format_percent(share, rounding=ROUND_DOWN)
        what = f"{self._money(net)} net is {shown} of the source price's {self._money(source_net)} net"
        if below:
            self.steps.append(
                f"source check, without a cost: {what}, below the {format_percent(minimum)} allowed"
            )
            self.reasons.append(
                f"no cost to check the margin, and the price's {what}, below {format_percent(minimum)}"
            )
        else:
            self.steps.append(f"source check, without a cost: {what}, at least {format_percent(minimum)}")

    # 6. change from the last price

    def _check_change(self, price: Decimal) -> None:
        last, limit = self.inp.last_price, self.profile.max_change_percent
        if last is None or limit is None:
            return
        change = (price - last) / last * HUNDRED
        too_far = abs(change) > limit
        # Rounded away from the limit, so the text never shows "+20%" for a change over 20%.
        shown = format_percent(change, signed=True, rounding=ROUND_UP if too_far else ROUND_DOWN)
        last_text, limit_text = self._money(last), format_percent(limit)
        if too_far:
            self.steps.append(
                f"change from the last price {last_text}: {shown}, more than the allowed {limit_text}"
            )
            self.reasons.append(
                f"the price changes by {shown} from the last price {last_text}, "
                f"more than the allowed {limit_text}"
            )
        else:
            self.steps.append(f"change from the last price {last_text}: {shown}, within {limit_text}")

    # 7. the price taken apart

    def _taken_apart(self, price: Decimal) -> tuple[Decimal, Decimal | None]:
        """Adds the net and VAT step and, with a known cost, the margin step; returns the net and
        the margin in percent."""
        net = to_cents(net_of(price, self.vat.percent))
        self.steps.append(
            f"price {self._money(price)} with {self.vat.text()}: {self._money(net)} net + "
            f"{self._money(price - net)} VAT"
        )
        if self.cost is None:
            return net, None
        fee_percent = self.fee
        sale = margin(price, self.cost[2], fee_percent, self.vat.percent)
        self.steps.append(
            f"margin {format_percent(sale.percent)} of the net price: {self._money(net)} net − fee "
            f"{format_percent(fee_percent)} {self._money(sale.fee)} − cost {self._money(self.cost[2])} "
            f"= {self._money(sale.profit)}"
        )
        return net, sale.percent

    # helpers

    def _money(self, amount: Decimal) -> str:
        return format_money(amount, self.currency)

    def _rate_text(self, source: str) -> str:
        self.converted = True  # every conversion of the engine's is told with its rate
        return rate_text(self.rates, source, self.currency)

    def _decision(
        self, price: Decimal | None, strategy: Strategy | None, floor: Decimal | None
    ) -> PriceDecision:
        status: Status = "no_price" if strategy is None else "needs_review" if self.reasons else "priced"
        price = None if price is None else to_cents(price)
        net, margin_percent = self._taken_apart(price) if price is not None else (None, None)
        return PriceDecision(
            price=price,
            currency=self.currency,
            status=status,
            strategy_used=strategy,
            floor=floor,
            competitors=list(self.offers),
            steps=list(self.steps),
            reasons=list(self.reasons),
            profile=self.profile.name,
            rates_as_of=self.rates.as_of,
            vat_percent=self.vat.percent,
            net_price=net,
            margin_percent=margin_percent,
            rates_used=self.converted
            or any(offer.counted and offer.currency != self.currency for offer in self.offers),
        )


def _converted(offer: EvaluatedOffer) -> Decimal:
    assert offer.converted_price is not None  # counted offers were converted
    return offer.converted_price


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"

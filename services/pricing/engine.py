"""Price one product with a profile: a decision with its price, status and a seller-readable why.

Rules (``price_product``), in order; each one adds a line to ``steps``:

1. Base price, in the profile's currency, by the profile's strategy; when it cannot run (no counted
   competitor, no cost, no source price, no rate for a currency) by the fallback strategy. When
   neither can run: status "no_price", price None.
2. Every amount is rounded to cents (half up) where a step shows it, and the next step continues
   from that amount, so a seller can redo the arithmetic from the explanation.
3. Bounds: raised to ``min_price``, lowered to ``max_price``, raised to the floor. The floor
   (only when the profile sets ``margin_floor_percent``) is
       floor = cost_in_target / (1 − fee% / 100) × (1 + margin% / 100)
   computed from the unrounded converted cost and rounded UP to the cent, so the margin holds.
   * A floor above ``max_price``: status "needs_review", reason "floor above max price...", and
     price None: a price outside the seller's own bounds is never proposed (the floor is in
     ``floor``).
   * A margin floor that cannot be computed (no cost, or no currency or rate for it): the price
     is computed but needs review, since nobody checked that it keeps the margin.
   * A price that ends at zero or below (beating a cheap competitor by more than its price, with
     no floor or min to stop it): needs review, price None.
4. Charm ending (rounding.apply_charm): down to the ending, up when down would cross the floor or
   min price and up stays within the max price, otherwise kept unrounded.
5. A price that moves from ``last_price`` by more than ``max_change_percent`` (of the last price)
   needs review; the price is still given, for the reviewer.

Status "priced" means nothing needs a person; ``reasons`` says why when it is anything else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_UP, Decimal, localcontext
from typing import Any, Literal

from services.pricing.competitors import CompetitorOffer, EvaluatedOffer, clean_competitors
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
    to_cents_up,
)
from services.pricing.profiles import PricingProfile, Strategy
from services.pricing.rounding import apply_charm, ending_text

Status = Literal["priced", "needs_review", "no_price"]


class InvalidPriceInput(ValueError):
    """The product's pricing data is impossible; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"pricing input is not valid: {'; '.join(problems)}")


@dataclass(frozen=True, slots=True)
class PriceInput:
    """What is known about one product. ``cost`` and ``source_price`` are in ``source_currency``;
    ``last_price`` is in the profile's currency; ``marketplace_fee_percent`` is from 0 to below 100.

    The competitors are kept as a tuple, so the input cannot change after it was made.
    """

    source_price: Decimal | None
    source_currency: str | None
    cost: Decimal | None
    competitors: Sequence[CompetitorOffer]
    last_price: Decimal | None
    marketplace_fee_percent: Decimal

    def __post_init__(self) -> None:
        if isinstance(self.source_currency, str):
            object.__setattr__(self, "source_currency", self.source_currency.strip().upper())
        object.__setattr__(self, "competitors", tuple(self.competitors))
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
        if problems:
            raise InvalidPriceInput(problems)


@dataclass(frozen=True, slots=True)
class PriceDecision:
    """The price chosen for a product (or why there is none), and how, step by step."""

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

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, for a jsonb price-history row: Decimals as strings, the date as ISO text."""
        return {
            "price": None if self.price is None else f"{self.price:f}",
            "currency": self.currency,
            "status": self.status,
            "strategy_used": self.strategy_used,
            "floor": None if self.floor is None else f"{self.floor:f}",
            "competitors": [offer.to_json() for offer in self.competitors],
            "steps": list(self.steps),
            "reasons": list(self.reasons),
            "profile": self.profile,
            "rates_as_of": None if self.rates_as_of is None else self.rates_as_of.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class _Floor:
    amount: Decimal | None  # None: no margin floor, or it could not be computed
    text: str  # "floor: cost 950,00 PLN = 220,93 EUR + fee 15% + margin 10% = 285,91 EUR", or why none


class _CannotRun(Exception):
    """A strategy lacks what it needs; the message says what, e.g. "no cost"."""


def price_product(inp: PriceInput, profile: PricingProfile, rates: ExchangeRates) -> PriceDecision:
    """Decide the price of one product; see the module's rules. Pure: no I/O, same input, same result."""
    with localcontext(DECIMAL_CONTEXT):
        return _Pricing(inp, profile, rates).decide()


class _Pricing:
    """One run of price_product: the inputs, and the steps and reasons gathered on the way."""

    def __init__(self, inp: PriceInput, profile: PricingProfile, rates: ExchangeRates) -> None:
        self.inp, self.profile, self.rates = inp, profile, rates
        self.currency = profile.currency
        self.offers = clean_competitors(inp.competitors, currency=profile.currency, rates=rates)
        self.steps: list[str] = []
        self.reasons: list[str] = []

    def decide(self) -> PriceDecision:
        based = self._base_price()
        if based is None:
            return self._decision(None, None, None)
        strategy, price = based
        floor = self._floor()
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
            return self._markup(self._in_target("cost", self.inp.cost, "no cost"))
        return self._markup(self._in_target("source price", self.inp.source_price, "no source price"))

    def _follow_lowest(self) -> Decimal:
        counted = [offer for offer in self.offers if offer.counted]
        if not counted:
            raise _CannotRun(self._no_competitor_text())
        if len(counted) < len(self.offers):
            self.steps.append(
                f"competitors: {len(counted)} of {len(self.offers)} counted ({self._left_out()})"
            )
        # The first of the cheapest in the given order, so the seller named is always the same one.
        lowest = min(counted, key=_converted)
        price = _converted(lowest)
        seller = f" ({lowest.seller})" if lowest.seller else ""
        text = f"lowest in-stock competitor {format_money(lowest.price, lowest.currency)}{seller}"
        if lowest.currency != self.currency:
            text += f" = {self._money(price)} at {self._rate_text(lowest.currency)}"
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

    def _no_competitor_text(self) -> str:
        if not self.offers:
            return "no competitor offers"
        return f"no competitor offer can be followed ({self._left_out()})"

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

    def _in_target(self, what: str, amount: Decimal | None, missing: str) -> Decimal:
        """Convert the product's cost or source price to the target currency, rounded, with a step."""
        if amount is None:
            raise _CannotRun(missing)
        source = self.inp.source_currency
        if source is None:
            raise _CannotRun(f"the {what} has no currency")
        try:
            converted = to_cents(self.rates.convert(amount, source, self.currency))
        except UnknownCurrency:
            raise _CannotRun(f"unknown currency {source} of the {what}") from None
        text = f"{what} {format_money(amount, source)}"
        if source != self.currency:
            text += f" = {self._money(converted)} at {self._rate_text(source)}"
        self.steps.append(text)
        return converted

    def _markup(self, amount: Decimal) -> Decimal:
        price = to_cents(amount * (1 + self.profile.markup_percent / HUNDRED))
        self.steps.append(f"markup {format_percent(self.profile.markup_percent)} → {self._money(price)}")
        return price

    # 3. bounds

    def _floor(self) -> _Floor:
        margin = self.profile.margin_floor_percent
        if margin is None:
            return _Floor(None, "")
        try:
            cost, source, exact = self._cost_in_target()
        except _CannotRun as cannot:
            self.reasons.append(f"{cannot}: the {format_percent(margin)} margin floor cannot be checked")
            return _Floor(None, f"floor: {cannot}, so the {format_percent(margin)} margin is not checked")
        fee = self.inp.marketplace_fee_percent
        amount = to_cents_up(exact / (1 - fee / HUNDRED) * (1 + margin / HUNDRED))
        cost_text = f"cost {format_money(cost, source)}"
        if source != self.currency:
            cost_text += f" = {self._money(to_cents(exact))}"
        text = (
            f"floor: {cost_text} + fee {format_percent(fee)} + margin {format_percent(margin)}"
            f" = {self._money(amount)}"
        )
        return _Floor(amount, text)

    def _cost_in_target(self) -> tuple[Decimal, str, Decimal]:
        """The cost, its currency, and the cost in the target currency, not rounded."""
        cost, source = self.inp.cost, self.inp.source_currency
        if cost is None:
            raise _CannotRun("no cost")
        if source is None:
            raise _CannotRun("the cost has no currency")
        try:
            return cost, source, self.rates.convert(cost, source, self.currency)
        except UnknownCurrency:
            raise _CannotRun(f"unknown currency {source} of the cost") from None

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

    # 5. change from the last price

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

    # helpers

    def _money(self, amount: Decimal) -> str:
        return format_money(amount, self.currency)

    def _rate_text(self, source: str) -> str:
        return f"{self.rates.describe(source, self.currency)} (rates of {self.rates.as_of.isoformat()})"

    def _decision(
        self, price: Decimal | None, strategy: Strategy | None, floor: Decimal | None
    ) -> PriceDecision:
        status: Status = "no_price" if strategy is None else "needs_review" if self.reasons else "priced"
        return PriceDecision(
            price=None if price is None else to_cents(price),
            currency=self.currency,
            status=status,
            strategy_used=strategy,
            floor=floor,
            competitors=list(self.offers),
            steps=list(self.steps),
            reasons=list(self.reasons),
            profile=self.profile.name,
            rates_as_of=self.rates.as_of,
        )


def _converted(offer: EvaluatedOffer) -> Decimal:
    assert offer.converted_price is not None  # counted offers were converted
    return offer.converted_price

"""Competitor offers: which ones a price may follow, and why the others are left out.

Rules (``clean_competitors``), in this order for each offer:

* Out of stock: not counted, never an outlier (reason "out of stock").
* A price that is not a positive Decimal, or that is under 0.01 in the target currency, is not
  counted ("not a usable price: ...").
* Where it was seen: the offer's ``marketplace``; else the market's ``seen_on`` (the marketplace of
  the product's source: the offers an Allegro scraper sends were seen on Allegro); else nowhere we
  know. Priced for a marketplace, an offer seen anywhere else is counted only when the profile uses
  other marketplaces' offers (``other_marketplaces``); else it is not counted ("seen on Allegro",
  "seen on an unknown marketplace"). Priced for no marketplace in particular, every offer counts.
* Its currency: the offer's own; else its marketplace's, when that is known (a bare number on
  Allegro is in PLN); else the market's ``bare_currency`` (the product's currency, or the one
  configured for its source). ``currency_assumed`` says which, when the offer named none. No
  currency at all: not counted ("no currency"); one without an exchange rate: not counted
  ("unknown currency XYZ").
* The others are converted to the target currency and rounded to cents. An offer seen on another
  marketplace whose country's VAT differs from the target's goes through net prices: its price
  without its VAT, converted, with the target's VAT, each rounded to cents (``conversion`` says so).
  An offer whose marketplace is not known is taken to include the target's VAT.
* Outliers among the counted offers are flagged and not counted, by rules that the median and
  quartiles of those prices decide:

  - any count: below median / 3 or above median × 3 is an outlier (the 1 zł offer among
    1 200 zł ones, even when a few such offers are listed);
  - with 4 or more prices, also outside Tukey's fences, Q1 − 1.5 × IQR and Q3 + 1.5 × IQR
    (quartiles by linear interpolation between the sorted prices, as numpy and Excel's
    QUARTILE.INC), but only when the price is also more than 25% away from the median: several
    competitors at exactly the same price make the IQR 0, and one a euro cheaper is not an outlier.

The result keeps the offers' order; the same offers always give the same result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from services.marketplaces import ALIASES, MARKETPLACES, rules_for
from services.pricing.money import (
    CENT,
    DECIMAL_CONTEXT,
    ExchangeRates,
    UnknownCurrency,
    format_money,
    shown,
    to_cents,
)
from services.pricing.vat import VatRate, gross_of, net_of

MEDIAN_FACTOR = Decimal(3)
TUKEY_MIN_COUNT = 4
TUKEY_K = Decimal("1.5")
TUKEY_MIN_DISTANCE = Decimal("0.25")  # from the median, as a fraction of it

OUT_OF_STOCK = "out of stock"
UNKNOWN_MARKETPLACE = "seen on an unknown marketplace"
NO_CURRENCY = "no currency"


@dataclass(frozen=True, slots=True)
class CompetitorOffer:
    """An offer for the same product. ``currency`` None: the offer named none (module rules);
    ``marketplace`` None: the offer did not say where it was seen (nor its URL)."""

    seller: str | None
    price: Decimal
    currency: str | None
    in_stock: bool
    marketplace: str | None = None


@dataclass(frozen=True, slots=True)
class Market:
    """What the rules need to know about where a price is for.

    ``marketplace`` None: no marketplace in particular, every offer counts as seen there and VAT is
    not considered. ``vat`` is the VAT in the target's prices, ``vat_rates`` the product's rate by
    country for the other marketplaces' offers.
    """

    currency: str
    marketplace: str | None = None
    vat: VatRate | None = None
    vat_rates: Mapping[str, VatRate] = field(default_factory=lambda: MappingProxyType({}))
    other_marketplaces: bool = False
    seen_on: str | None = None
    bare_currency: str | None = None
    bare_currency_why: str = ""


@dataclass(frozen=True, slots=True)
class EvaluatedOffer:
    """An offer as priced: its price in the target currency and whether a price may follow it.

    ``currency`` is the offer's currency (its own or assumed, see ``currency_assumed``; None when it
    has none); ``marketplace`` where it was seen (None: unknown); ``converted_price`` is None when it
    could not be converted, and ``conversion`` says how it was, when more than the price is shown
    ("= 1 015,45 PLN net of VAT 23% (PL) = 236,15 EUR net at ... = 281,02 EUR with VAT 19% (DE)").
    """

    seller: str | None
    price: Decimal
    currency: str | None
    in_stock: bool
    converted_price: Decimal | None
    counted: bool
    is_outlier: bool
    reason: str | None
    marketplace: str | None = None
    currency_assumed: str | None = None
    conversion: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: Decimals as strings ("1249.00")."""
        return {
            "seller": self.seller,
            "price": _decimal_json(self.price),
            "currency": self.currency,
            "in_stock": self.in_stock,
            "converted_price": _decimal_json(self.converted_price),
            "counted": self.counted,
            "is_outlier": self.is_outlier,
            "reason": self.reason,
            "marketplace": self.marketplace,
            "currency_assumed": self.currency_assumed,
        }


@dataclass(frozen=True, slots=True)
class _Fences:
    median: Decimal
    low: Decimal  # below it: an outlier
    high: Decimal  # above it: an outlier


def marketplace_name(marketplace: str | None) -> str:
    """ "Allegro" for allegro_pl; an id we do not know as it is; "an unknown marketplace" for None."""
    if marketplace is None:
        return "an unknown marketplace"
    known = MARKETPLACES.get(marketplace)
    return known.name if known is not None else marketplace


def normalize_marketplace(value: object) -> str | None:
    """A marketplace as an offer may name it: an id ("amazon_de"), the seed's name ("amazon"), a host
    or URL ("amazon.de", "https://www.ebay.de/itm/1") → the id; other text lower-cased as it is
    (a marketplace we do not list on); None for nothing."""
    if not isinstance(value, str) or not value.strip():
        return None
    name = value.strip().lower()
    if name in MARKETPLACES:
        return name
    if name in ALIASES:
        return ALIASES[name]
    if "." in name:
        return marketplace_from_url(name) or name
    return name


_PLAIN_HOST_RE = re.compile(r"https?://([A-Za-z0-9.-]+)(?:[/?#]|\Z)", re.ASCII | re.IGNORECASE)


def marketplace_from_url(url: object) -> str | None:
    """The marketplace of an offer's URL, by its host's last two labels: allegro.pl → allegro_pl,
    www.amazon.de → amazon_de, m.ebay.de → ebay_de; None for a host that is not one of ours."""
    if not isinstance(url, str) or not url.strip():
        return None
    text = url.strip()
    # A plain http(s) URL's host without urlsplit (a tenth of the import's time, run per offer):
    # when the host is only letters, digits, dots and hyphens, urlsplit's hostname is it in lower case.
    if (plain := _PLAIN_HOST_RE.match(text)) is not None:
        host: str | None = plain[1].lower()
    else:
        try:
            host = urlsplit(text if "//" in text else f"//{text}").hostname
        except ValueError:
            return None
    labels = (host or "").rstrip(".").split(".")
    if len(labels) < 2:  # a name and a top-level domain at least
        return None
    candidate = f"{labels[-2]}_{labels[-1]}"
    return candidate if candidate in MARKETPLACES else None


def clean_competitors(
    offers: Iterable[CompetitorOffer],
    *,
    currency: str,
    rates: ExchangeRates,
    market: Market | None = None,
) -> list[EvaluatedOffer]:
    """Convert each offer to ``currency`` and decide whether it counts; see the module's rules.

    ``market`` (None: no marketplace in particular) says where the price is for."""
    target = currency.upper()
    where = market if market is not None else Market(target)
    with localcontext(DECIMAL_CONTEXT):
        evaluated = [_evaluate(offer, target, rates, where) for offer in offers]
        prices = sorted(
            offer.converted_price for offer in evaluated if offer.counted and offer.converted_price
        )
        if not prices:
            return evaluated
        fences = _fences(prices)
        return [_flag(offer, fences, target) if offer.counted else offer for offer in evaluated]


def _seen_on(offer: CompetitorOffer, market: Market) -> str | None:
    return offer.marketplace or market.seen_on


def _offer_currency(
    offer: CompetitorOffer, seen: str | None, market: Market
) -> tuple[str | None, str | None]:
    """The offer's currency and, when the offer named none, why that one."""
    if offer.currency:
        return offer.currency.strip().upper(), None
    if seen is not None and seen in MARKETPLACES:
        known = rules_for(seen)
        return known.currency, f"the currency of {known.name}"
    if market.bare_currency:
        return market.bare_currency, market.bare_currency_why or "the product's currency"
    return None, None


def _evaluate(offer: CompetitorOffer, target: str, rates: ExchangeRates, market: Market) -> EvaluatedOffer:
    seen = _seen_on(offer, market)
    currency, assumed = _offer_currency(offer, seen, market)
    price = offer.price
    elsewhere = market.marketplace is not None and seen != market.marketplace
    excluded: str | None = None  # why an offer seen elsewhere is not counted
    if elsewhere and not market.other_marketplaces:
        excluded = f"seen on {marketplace_name(seen)}" if seen is not None else UNKNOWN_MARKETPLACE

    def result(converted: Decimal | None, reason: str | None, conversion: str = "") -> EvaluatedOffer:
        return EvaluatedOffer(
            offer.seller, price, currency, offer.in_stock, converted, reason is None, False, reason,
            seen, assumed, conversion,
        )  # fmt: skip

    if not offer.in_stock:
        unavailable = OUT_OF_STOCK
    elif not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        unavailable = f"not a usable price: {shown(price) if isinstance(price, Decimal) else repr(price)}"
    else:
        unavailable = excluded or ""
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        return result(None, unavailable)
    if excluded is not None:
        # Not converted: it cannot count here, and converting every other marketplace's offer (with
        # the text that tells how) was a third of pricing's cost for nothing shown to a buyer.
        return result(None, unavailable)
    if currency is None:
        return result(None, unavailable or NO_CURRENCY)
    try:
        converted, conversion = _convert(price, currency, seen if elsewhere else None, target, rates, market)
    except UnknownCurrency:
        return result(None, unavailable or f"unknown currency {currency}")
    if not unavailable and converted < CENT:
        unavailable = (
            f"not a usable price: {format_money(price, currency)} is less than {format_money(CENT, target)}"
        )
    return result(converted, unavailable or None, conversion)


def _convert(
    price: Decimal, currency: str, seen: str | None, target: str, rates: ExchangeRates, market: Market
) -> tuple[Decimal, str]:
    """The price in the target currency (cents) and, when more than the rate was applied, how.

    `seen`: the other marketplace the offer was seen on (None: the target's own, or unknown)."""
    own_vat = _vat_of(seen, market)
    to_vat = market.vat
    if own_vat is None or to_vat is None or own_vat.percent == to_vat.percent:
        converted = to_cents(rates.convert(price, currency, target))
        text = ""
        if currency != target:
            text = f"= {format_money(converted, target)} at {rate_text(rates, currency, target)}"
        return converted, text
    net = to_cents(net_of(price, own_vat.percent))
    steps = [f"= {format_money(net, currency)} net of {own_vat.text()}"]
    if currency != target:
        net = to_cents(rates.convert(net, currency, target))
        steps.append(f"= {format_money(net, target)} net at {rate_text(rates, currency, target)}")
    converted = to_cents(gross_of(net, to_vat.percent))
    steps.append(f"= {format_money(converted, target)} with {to_vat.text()}")
    return converted, " ".join(steps)


def _vat_of(seen: str | None, market: Market) -> VatRate | None:
    if seen is None or seen not in MARKETPLACES:
        return None
    return market.vat_rates.get(rules_for(seen).country)


def rate_text(rates: ExchangeRates, source: str, target: str) -> str:
    """ "4,30 PLN/EUR (rates of 2026-11-20)": the rate between two currencies and its date."""
    return f"{rates.describe(source, target)} (rates of {rates.as_of.isoformat()})"


def _fences(prices: list[Decimal]) -> _Fences:
    """Outlier bounds for sorted prices; see the module's rules."""
    median = _quantile(prices, Decimal("0.5"))
    low, high = median / MEDIAN_FACTOR, median * MEDIAN_FACTOR
    if len(prices) >= TUKEY_MIN_COUNT:
        q1, q3 = _quantile(prices, Decimal("0.25")), _quantile(prices, Decimal("0.75"))
        iqr = q3 - q1
        tukey_low = min(q1 - TUKEY_K * iqr, median * (1 - TUKEY_MIN_DISTANCE))
        tukey_high = max(q3 + TUKEY_K * iqr, median * (1 + TUKEY_MIN_DISTANCE))
        low, high = max(low, tukey_low), min(high, tukey_high)
    return _Fences(median, low, high)


def _quantile(prices: list[Decimal], q: Decimal) -> Decimal:
    """Linear interpolation between the closest ranks of sorted prices (Hyndman & Fan type 7)."""
    position = (len(prices) - 1) * q
    below = int(position)
    if below + 1 >= len(prices):
        return prices[below]
    return prices[below] + (position - below) * (prices[below + 1] - prices[below])


def _flag(offer: EvaluatedOffer, fences: _Fences, target: str) -> EvaluatedOffer:
    price = offer.converted_price
    assert price is not None  # counted offers were converted
    if fences.low <= price <= fences.high:
        return offer
    assert offer.currency is not None  # counted offers have one
    shown_price = format_money(offer.price, offer.currency)
    if offer.currency != target:
        shown_price += f" ({format_money(price, target)})"
    side = "below" if price < fences.low else "above"
    reason = f"outlier: {shown_price} is far {side} the median {format_money(fences.median, target)}"
    return replace(offer, counted=False, is_outlier=True, reason=reason)


def _decimal_json(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"

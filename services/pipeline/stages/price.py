"""The price stage over one chunk: a price per product and marketplace, with its explanation.

The job's pricing profile (or the default) is read once per chunk. For each product and marketplace
whose price key changed (offer, category, profile, fee, rates, VAT or the sources' currencies),
services.pricing.price_product decides; the decision goes to the price history (`pricing_data`, one
row per product, marketplace and job, with every competitor offer and whether it was an outlier) and
to the listing, with its floor, VAT and fee (the score stage reads them). A decision that needs
review is proposed, not applied: the listing keeps its last applied price.

What the stage tells the engine, besides the product's numbers: the VAT of the product in each
country (VAT_RATES, with the profile's reduced rates for its category), the source's marketplace
when the source is one ("allegro" → allegro_pl: offers naming no marketplace were seen there, and
its VAT is in the source price), each offer's marketplace (its own, else its URL's), and, for a
product that names no currency, the one configured for its source (SOURCE_CURRENCIES), said in the
explanation.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.orm import Session

from models import stages
from services.marketplaces import resolve_marketplace, rules_for
from services.pipeline.bulk import json_text
from services.pipeline.items import ChunkWork, ItemError, StageResult
from services.pipeline.keys import price_key, rates_fingerprint
from services.pipeline.stages.chain import ChunkRows, Record, Step, run_steps
from services.pricing import (
    CompetitorOffer,
    ExchangeRates,
    InvalidPriceInput,
    PriceDecision,
    PriceInput,
    PricingProfile,
    UnknownCurrency,
    VatRate,
    in_currency,
    price_per_fee,
    product_vat_rates,
)
from services.pricing.competitors import marketplace_from_url, normalize_marketplace
from services.pricing.store import (
    ProfileNotFound,
    find_profile,
    marketplace_fee,
    profile_fingerprint,
    profile_from_row,
)

log = structlog.get_logger(__name__)


class _MarketplacePricing:
    """The profile, fee and key parts for one marketplace, worked out once per chunk."""

    def __init__(
        self, marketplace: str, profile_row: Any, profile: PricingProfile, rates: ExchangeRates
    ) -> None:
        rules = rules_for(marketplace)
        self.marketplace = marketplace
        self.currency = rules.currency
        self.country = rules.country
        self.fee = marketplace_fee(profile_row, marketplace)
        self.problem: str | None = None
        try:
            self.profile = in_currency(profile, rules.currency, rates)
        except UnknownCurrency:
            self.profile = profile
            self.problem = f"no exchange rate from {profile.currency} to {rules.currency} for {rules.name}"


LIGHT = ("price", "currency", "cost", "offer_hash", "source_platform", "category", "category_path")
HEAVY = ("competitors",)
LISTING_COLUMNS = ("price", "currency", "price_key")


def price_step(
    *,
    job_id: uuid.UUID,
    marketplaces: Sequence[str],
    profile_name: str | None,
    rates: ExchangeRates,
    vat_rates: Mapping[str, Decimal],
    source_currencies: Mapping[str, str],
    max_rates_age_days: int | None = None,
    today: date | None = None,
) -> Step:
    """The price stage as a step of a run (services.pipeline.stages.chain).

    `vat_rates` (country → percent, VAT_RATES) and `source_currencies` (source → currency of bare
    numbers, SOURCE_CURRENCIES) are the configuration's. A decision that converted with rates more
    than `max_rates_age_days` older than `today` says so in its steps (the job goes on: old rates
    are a warning, not an error). The job's pricing profile (or the default) is read once per chunk."""

    def start(session: Session) -> _ChunkPricing | _NoProfile:
        try:
            profile_row = find_profile(session, profile_name)
        except ProfileNotFound:
            return _NoProfile(profile_name)
        profile = profile_from_row(profile_row)
        settings_key = _settings_fingerprint(vat_rates, source_currencies)
        return _ChunkPricing(
            job_id, profile, _key(profile_fingerprint(profile_row), settings_key), rates,
            [_MarketplacePricing(m, profile_row, profile, rates) for m in marketplaces],
            vat_rates, source_currencies, max_rates_age_days, today,
        )  # fmt: skip

    return Step(stages.PRICE, LIGHT, HEAVY, LISTING_COLUMNS, start)


class _NoProfile:
    """The job names a pricing profile that is not stored (deleted since the job was accepted)."""

    def __init__(self, name: str | None) -> None:
        self.error = ItemError("options.pricing_profile", f"no pricing profile named {name!r}")

    def stale(self, product: Record, rows: ChunkRows) -> bool:
        return False

    def work(self, work: ChunkWork, rows: ChunkRows) -> None:
        for item in work.items:
            work.fails(item, [self.error])


def price_chunk(
    session: Session,
    job_id: uuid.UUID,
    number: int,
    *,
    marketplaces: Sequence[str],
    profile_name: str | None,
    rates: ExchangeRates,
    vat_rates: Mapping[str, Decimal],
    source_currencies: Mapping[str, str],
    only: Sequence[int] | None = None,
    max_rates_age_days: int | None = None,
    today: date | None = None,
) -> StageResult:
    """The price stage alone on chunk `number` (see price_step)."""
    step = price_step(
        job_id=job_id, marketplaces=marketplaces, profile_name=profile_name, rates=rates,
        vat_rates=vat_rates, source_currencies=source_currencies, max_rates_age_days=max_rates_age_days,
        today=today,
    )  # fmt: skip
    return run_steps(session, job_id, number, [step], marketplaces=marketplaces, only=only)[stages.PRICE]


class _ChunkPricing:
    """What pricing one product of a chunk needs beyond the product: worked out once per chunk."""

    def __init__(
        self,
        job_id: uuid.UUID,
        profile: PricingProfile,
        profile_key: str,
        rates: ExchangeRates,
        targets: list[_MarketplacePricing],
        vat_rates: Mapping[str, Decimal],
        source_currencies: Mapping[str, str],
        max_rates_age_days: int | None,
        today: date | None,
    ) -> None:
        self.job_id, self.profile, self.profile_key, self.rates = job_id, profile, profile_key, rates
        self.rates_key = rates_fingerprint(rates)
        self.targets = targets
        self.vat_rates, self.source_currencies = vat_rates, source_currencies
        self.max_rates_age_days, self.today = max_rates_age_days, today
        self._vat_by_category: dict[str | None, dict[str, VatRate]] = {}

    def _offer_key(self, product: Record) -> tuple[str | None, str]:
        """The product's category as pricing reads it (the normalized path, else the scraped one),
        and the key of its offer in that category."""
        category = product.category_path if product.category_path is not None else product.category
        return category, _key(product.offer_hash, category or "")

    def stale(self, product: Record, rows: ChunkRows) -> bool:
        _, offer_key = self._offer_key(product)
        for target in self.targets:
            listing = rows.listing(product.id, target.marketplace)
            if listing is None or listing.price_key != price_key(
                offer_key, self.profile_key, target.fee, self.rates_key
            ):
                return True
        return False

    def work(self, work: ChunkWork, rows: ChunkRows) -> None:
        for item in work.items:
            if (product := work.product_of(item, rows.products)) is None:
                continue
            errors, changed = self.price(product, rows)
            if errors:
                work.fails(item, errors)
            else:
                work.passes(item, skipped=not changed)

    def price(self, product: Record, rows: ChunkRows) -> tuple[list[ItemError], bool]:
        """Decide the product's prices whose key changed, on its listings and in the history rows;
        returns the problems (the product fails) and whether anything was decided."""
        profile, rates = self.profile, self.rates
        errors: list[ItemError] = []
        changed = False
        competitors: list[CompetitorOffer] | None = None
        source = _Source.of(product, self.source_currencies)
        category, offer_key = self._offer_key(product)
        vat_by_country = self._vat_by_category.get(category)
        if vat_by_country is None:  # a chunk's products share a few categories: worked out once each
            vat_by_country = product_vat_rates(self.vat_rates, profile.category_vat_rates, category)
            self._vat_by_category[category] = vat_by_country
        # Marketplaces of one currency and VAT whose offers count alike differ only in their fees:
        # their decisions share the competitors and the base price (price_per_fee).
        groups: dict[tuple[Any, ...], list[tuple[_MarketplacePricing, str, Decimal | None]]] = {}
        for target in self.targets:
            listing = rows.listing(product.id, target.marketplace)
            key = price_key(offer_key, self.profile_key, target.fee, self.rates_key)
            if listing is not None and listing.price_key == key:
                continue
            if target.problem:
                errors.append(ItemError(f"price.{target.marketplace}", target.problem))
                continue
            vat = vat_by_country.get(target.country)
            if vat is None:
                errors.append(
                    ItemError(
                        f"price.{target.marketplace}", f"no VAT rate for {target.country}: set VAT_RATES"
                    )
                )
                continue
            last_price = (
                listing.price if listing is not None and listing.currency == target.currency else None
            )
            try:
                if competitors is None:
                    competitors = _competitors(product.competitors)
            except Exception as error:  # one product's bug must not fail its chunk
                log.exception("price.product_failed", product_id=product.id, marketplace=target.marketplace)
                errors.append(
                    ItemError(f"price.{target.marketplace}", f"pricing failed ({type(error).__name__})")
                )
                continue
            seen_here = tuple(
                (offer.marketplace or source.marketplace) == target.marketplace for offer in competitors
            )
            groups.setdefault((target.currency, vat, last_price, seen_here), []).append(
                (target, key, last_price)
            )
        for (_currency, vat, last_price, _seen), group in groups.items():
            first = group[0][0]
            fees = list(dict.fromkeys(target.fee for target, _, _ in group))
            try:
                inp = PriceInput(
                    source_price=product.price, source_currency=source.currency, cost=product.cost,
                    competitors=competitors or [], last_price=last_price, marketplace_fee_percent=fees[0],
                    vat=vat, marketplace=first.marketplace,
                    vat_rates=vat_by_country, source_marketplace=source.marketplace,
                    currency_assumed=source.currency_assumed,
                )  # fmt: skip
                decided = price_per_fee(inp, first.profile, rates, fees)
            except InvalidPriceInput as invalid:
                errors += [
                    ItemError(f"price.{t.marketplace}", "; ".join(invalid.problems)) for t, _, _ in group
                ]
                continue
            except Exception as error:  # one product's bug must not fail its chunk
                log.exception("price.product_failed", product_id=product.id, marketplace=first.marketplace)
                failed = f"pricing failed ({type(error).__name__})"
                errors += [ItemError(f"price.{t.marketplace}", failed) for t, _, _ in group]
                continue
            by_fee = {
                fee: with_rates_age(d, self.max_rates_age_days, self.today)
                for fee, d in zip(fees, decided, strict=True)
            }
            for target, key, _ in group:
                decision = by_fee[target.fee]
                changed = True
                _apply(rows, product.id, target, decision, last_price, key)
                rows.history.append(
                    (product.id, target.marketplace, self.job_id, *_decision_json(decision, profile, target))
                )
        return errors, changed


class _Source:
    """What the product's source tells: its marketplace (None when it is not one of ours) and the
    currency of the product's numbers, with why when the product named none."""

    __slots__ = ("currency", "currency_assumed", "marketplace")

    def __init__(self, marketplace: str | None, currency: str | None, currency_assumed: str | None) -> None:
        self.marketplace, self.currency, self.currency_assumed = marketplace, currency, currency_assumed

    @classmethod
    def of(cls, product: Any, source_currencies: Mapping[str, str]) -> _Source:
        name = (product.source_platform or "").strip().lower()
        try:
            marketplace: str | None = resolve_marketplace(name)
        except KeyError:
            marketplace = None
        if product.currency:
            return cls(marketplace, product.currency, None)
        configured = source_currencies.get(name)
        if configured is None:
            return cls(marketplace, None, None)
        return cls(
            marketplace,
            configured,
            f"the product names no currency; its numbers are read in {name}'s (SOURCE_CURRENCIES)",
        )


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _settings_fingerprint(vat_rates: Mapping[str, Decimal], source_currencies: Mapping[str, str]) -> str:
    """What the configuration adds to a price's inputs: the VAT rates and the sources' currencies."""
    vat = ",".join(f"{country}={rate.normalize():f}" for country, rate in sorted(vat_rates.items()))
    currencies = ",".join(f"{source}={code}" for source, code in sorted(source_currencies.items()))
    return _key("price-settings", vat, currencies)


def _competitors(offers: list[dict[str, Any]]) -> list[CompetitorOffer]:
    return [
        CompetitorOffer(
            o.get("seller"),
            Decimal(o["price"]),
            o.get("currency"),
            o.get("in_stock", True),
            normalize_marketplace(o.get("marketplace")) or marketplace_from_url(o.get("url")),
        )
        for o in offers
    ]


def with_rates_age(decision: PriceDecision, max_age_days: int | None, today: date | None) -> PriceDecision:
    """The decision, with a last step saying its rates are old when it converted with rates older
    than `max_age_days` (EXCHANGE_RATES_MAX_AGE_DAYS)."""
    if max_age_days is None or not decision.rates_used or decision.rates_as_of is None:
        return decision
    age = ((today or datetime.now(UTC).date()) - decision.rates_as_of).days
    if age <= max_age_days:
        return decision
    note = (
        f"the exchange rates of {decision.rates_as_of.isoformat()} are {age} days old (more than"
        f" {max_age_days}): check EXCHANGE_RATES, or the ECB's rates (EXCHANGE_RATES_URL) are not reaching us"
    )
    return replace(decision, steps=[*decision.steps, note])


def _apply(
    rows: ChunkRows,
    product_id: int,
    target: _MarketplacePricing,
    decision: PriceDecision,
    last_price: Decimal | None,
    key: str,
) -> None:
    """The decision on the listing: applied, or proposed with the last price kept (needs review)."""
    applied = decision.status == "priced"
    rows.write_listing(
        stages.PRICE, product_id, target.marketplace, price_key=key,
        price=decision.price if applied else last_price, currency=target.currency,
        price_status=decision.status, proposed_price=None if applied else decision.price,
        floor=decision.floor, vat_percent=decision.vat_percent, fee_percent=target.fee,
    )  # fmt: skip


def _decision_json(
    decision: PriceDecision, profile: PricingProfile, target: _MarketplacePricing
) -> tuple[Any, ...]:
    """The price-history columns after (product, marketplace, job) for one decision."""
    as_json = decision.to_json()
    competitors = as_json.pop("competitors")
    as_json["marketplace_fee_percent"] = f"{target.fee:f}"  # the floor's and the margin's fee
    if target.profile is not profile:
        as_json["profile_currency"] = (
            f"the profile's amounts are in {profile.currency}: converted to {target.currency}"
        )
    return (
        decision.price, decision.currency, decision.status, decision.status == "priced",
        sum(offer.is_outlier for offer in decision.competitors), json_text(competitors), json_text(as_json),
    )  # fmt: skip

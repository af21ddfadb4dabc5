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
from services.pipeline.bulk import copy_rows, json_text
from services.pipeline.items import (
    ChunkWork,
    ItemError,
    StageResult,
    claim_items,
    product_ids,
    read_listings,
    read_products,
)
from services.pipeline.keys import price_key, rates_fingerprint
from services.platform.db import psycopg_connection
from services.pricing import (
    CompetitorOffer,
    ExchangeRates,
    InvalidPriceInput,
    PriceDecision,
    PriceInput,
    PricingProfile,
    UnknownCurrency,
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

_LISTINGS_TABLE = "stage_priced_listings"
_LISTINGS_COLUMNS = (
    ("product_id", "bigint"), ("marketplace", "text"), ("price", "numeric"), ("currency", "text"),
    ("price_status", "text"), ("proposed_price", "numeric"), ("price_key", "text"), ("floor", "numeric"),
    ("vat_percent", "numeric"), ("fee_percent", "numeric"),
)  # fmt: skip
_HISTORY_TABLE = "stage_price_history"
_HISTORY_COLUMNS = (
    ("product_id", "bigint"), ("marketplace", "text"), ("job_id", "uuid"), ("price", "numeric"),
    ("currency", "text"), ("status", "text"), ("applied", "boolean"), ("outliers", "smallint"),
    ("competitors", "jsonb"), ("decision", "jsonb"),
)  # fmt: skip


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
    """`vat_rates` (country → percent, VAT_RATES) and `source_currencies` (source → currency of bare
    numbers, SOURCE_CURRENCIES) are the configuration's. A decision that converted
    with rates more than `max_rates_age_days` older than `today` says so in its steps (the job goes
    on: old rates are a warning, not an error)."""
    items = claim_items(session, job_id, number, stages.PRICE, only=only)
    work = ChunkWork(stages.PRICE, items)
    if not items:
        return work.result
    try:
        profile_row = find_profile(session, profile_name)
    except ProfileNotFound:
        error = ItemError("options.pricing_profile", f"no pricing profile named {profile_name!r}")
        for item in items:
            work.fails(item, [error])
        return work.finish(session, job_id)
    profile = profile_from_row(profile_row)
    profile_key = _key(profile_fingerprint(profile_row), _settings_fingerprint(vat_rates, source_currencies))
    rates_key = rates_fingerprint(rates)
    targets = [_MarketplacePricing(m, profile_row, profile, rates) for m in marketplaces]

    ids = product_ids(items)
    products = read_products(
        session,
        "price, currency, cost, competitors, offer_hash, source_platform, coalesce(category_path, category)"
        " AS category",
        ids,
    )
    listings = read_listings(session, "price, currency, price_key", ids, marketplaces)

    listing_rows: list[tuple[Any, ...]] = []
    history_rows: list[tuple[Any, ...]] = []
    for item in items:
        if (product := work.product_of(item, products)) is None:
            continue
        errors: list[ItemError] = []
        changed = False
        competitors: list[CompetitorOffer] | None = None
        source = _Source.of(product, source_currencies)
        vat_by_country = product_vat_rates(vat_rates, profile.category_vat_rates, product.category)
        offer_key = _key(product.offer_hash, product.category or "")
        # Marketplaces of one currency and VAT whose offers count alike differ only in their fees:
        # their decisions share the competitors and the base price (price_per_fee).
        groups: dict[tuple[Any, ...], list[tuple[_MarketplacePricing, str, Decimal | None]]] = {}
        for target in targets:
            listing = listings.get((product.id, target.marketplace))
            key = price_key(offer_key, profile_key, target.fee, rates_key)
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
                fee: with_rates_age(d, max_rates_age_days, today)
                for fee, d in zip(fees, decided, strict=True)
            }
            for target, key, _ in group:
                decision = by_fee[target.fee]
                changed = True
                listing_rows.append(_listing_row(product.id, target, decision, last_price, key))
                history_rows.append(
                    (product.id, target.marketplace, job_id, *_decision_json(decision, profile, target))
                )
        if errors:
            work.fails(item, errors)
        else:
            work.passes(item, skipped=not changed)

    _write(session, listing_rows, history_rows)
    return work.finish(session, job_id)


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


def _listing_row(
    product_id: int,
    target: _MarketplacePricing,
    decision: PriceDecision,
    last_price: Decimal | None,
    key: str,
) -> tuple[Any, ...]:
    applied = decision.status == "priced"
    price = decision.price if applied else last_price
    proposed = None if applied else decision.price
    return (
        product_id, target.marketplace, price, target.currency, decision.status, proposed, key,
        decision.floor, decision.vat_percent, target.fee,
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


def _write(
    session: Session,
    listing_rows: list[tuple[Any, ...]],
    history_rows: list[tuple[Any, ...]],
) -> None:
    if not listing_rows:
        return
    with psycopg_connection(session).cursor() as cursor:
        copy_rows(cursor, _LISTINGS_TABLE, _LISTINGS_COLUMNS, listing_rows)
        cursor.execute(
            f"INSERT INTO product_listings (product_id, marketplace, price, currency, price_status,"  # noqa: S608
            f" proposed_price, price_key, floor, vat_percent, fee_percent)"
            f" SELECT product_id, marketplace, price, currency, price_status, proposed_price, price_key,"
            f" floor, vat_percent, fee_percent FROM {_LISTINGS_TABLE} ORDER BY product_id, marketplace"
            f" ON CONFLICT (product_id, marketplace) DO UPDATE SET price = EXCLUDED.price,"
            f" currency = EXCLUDED.currency, price_status = EXCLUDED.price_status,"
            f" proposed_price = EXCLUDED.proposed_price, price_key = EXCLUDED.price_key,"
            f" floor = EXCLUDED.floor, vat_percent = EXCLUDED.vat_percent,"
            f" fee_percent = EXCLUDED.fee_percent, updated_at = now()"
        )
        copy_rows(cursor, _HISTORY_TABLE, _HISTORY_COLUMNS, history_rows)
        names = ", ".join(name for name, _ in _HISTORY_COLUMNS)
        cursor.execute(
            f"INSERT INTO pricing_data ({names}) SELECT {names} FROM {_HISTORY_TABLE}"  # noqa: S608
            f" ON CONFLICT (product_id, marketplace, job_id) DO NOTHING"
        )

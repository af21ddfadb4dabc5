"""The price stage over one chunk: a price per product and marketplace, with its explanation.

The job's pricing profile (or the default) is read once per chunk. For each product and marketplace
whose price key changed (offer, profile, fee or rates), services.pricing.price_product decides; the
decision goes to the price history (`pricing_data`, one row per product, marketplace and job, with
every competitor offer and whether it was an outlier) and to the listing. A decision that needs
review is proposed, not applied: the listing keeps its last applied price.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.orm import Session

from models import stages
from services.marketplaces import rules_for
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
    price_product,
)
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
    ("price_status", "text"), ("proposed_price", "numeric"), ("price_key", "text"),
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
    only: Sequence[int] | None = None,
) -> StageResult:
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
    profile_key, rates_key = profile_fingerprint(profile_row), rates_fingerprint(rates)
    targets = [_MarketplacePricing(m, profile_row, profile, rates) for m in marketplaces]

    ids = product_ids(items)
    products = read_products(session, "price, currency, cost, competitors, offer_hash", ids)
    listings = read_listings(session, "price, currency, price_key", ids, marketplaces)

    listing_rows: list[tuple[Any, ...]] = []
    history_rows: list[tuple[Any, ...]] = []
    for item in items:
        if (product := work.product_of(item, products)) is None:
            continue
        errors: list[ItemError] = []
        changed = False
        competitors: list[CompetitorOffer] | None = None
        # Marketplaces in one currency often get the same decision: the fee only matters to a margin
        # floor, and the last price only to the change check. Same inputs, same decision: made once.
        decisions: dict[tuple[Any, ...], tuple[PriceDecision, tuple[Any, ...]]] = {}
        for target in targets:
            listing = listings.get((product.id, target.marketplace))
            key = price_key(product.offer_hash, profile_key, target.fee, rates_key)
            if listing is not None and listing.price_key == key:
                continue
            if target.problem:
                errors.append(ItemError(f"price.{target.marketplace}", target.problem))
                continue
            last_price = (
                listing.price if listing is not None and listing.currency == target.currency else None
            )
            fee = target.fee if profile.margin_floor_percent is not None else None
            same = (target.currency, fee, last_price)
            try:
                if same not in decisions:
                    if competitors is None:
                        competitors = _competitors(product.competitors)
                    inp = PriceInput(
                        source_price=product.price, source_currency=product.currency, cost=product.cost,
                        competitors=competitors, last_price=last_price, marketplace_fee_percent=target.fee,
                    )  # fmt: skip
                    decision = price_product(inp, target.profile, rates)
                    decisions[same] = decision, _decision_json(decision, profile, target)
            except InvalidPriceInput as invalid:
                errors.append(ItemError(f"price.{target.marketplace}", "; ".join(invalid.problems)))
                continue
            except Exception as error:  # one product's bug must not fail its chunk
                log.exception("price.product_failed", product_id=product.id, marketplace=target.marketplace)
                errors.append(
                    ItemError(f"price.{target.marketplace}", f"pricing failed ({type(error).__name__})")
                )
                continue
            decision, as_json = decisions[same]
            changed = True
            listing_rows.append(_listing_row(product.id, target, decision, last_price, key))
            history_rows.append((product.id, target.marketplace, job_id, *as_json))
        if errors:
            work.fails(item, errors)
        else:
            work.passes(item, skipped=not changed)

    _write(session, listing_rows, history_rows)
    return work.finish(session, job_id)


def _competitors(offers: list[dict[str, Any]]) -> list[CompetitorOffer]:
    return [
        CompetitorOffer(o.get("seller"), Decimal(o["price"]), o.get("currency"), o.get("in_stock", True))
        for o in offers
    ]


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
    return (product_id, target.marketplace, price, target.currency, decision.status, proposed, key)


def _decision_json(
    decision: PriceDecision, profile: PricingProfile, target: _MarketplacePricing
) -> tuple[Any, ...]:
    """The price-history columns after (product, marketplace, job) for one decision."""
    as_json = decision.to_json()
    competitors = as_json.pop("competitors")
    if profile.margin_floor_percent is not None:  # else the fee changed nothing, and is not shown
        as_json["marketplace_fee_percent"] = f"{target.fee:f}"
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
            f" proposed_price, price_key)"
            f" SELECT product_id, marketplace, price, currency, price_status, proposed_price, price_key"
            f" FROM {_LISTINGS_TABLE} ORDER BY product_id, marketplace"
            f" ON CONFLICT (product_id, marketplace) DO UPDATE SET price = EXCLUDED.price,"
            f" currency = EXCLUDED.currency, price_status = EXCLUDED.price_status,"
            f" proposed_price = EXCLUDED.proposed_price, price_key = EXCLUDED.price_key, updated_at = now()"
        )
        copy_rows(cursor, _HISTORY_TABLE, _HISTORY_COLUMNS, history_rows)
        names = ", ".join(name for name, _ in _HISTORY_COLUMNS)
        cursor.execute(
            f"INSERT INTO pricing_data ({names}) SELECT {names} FROM {_HISTORY_TABLE}"  # noqa: S608
            f" ON CONFLICT (product_id, marketplace, job_id) DO NOTHING"
        )

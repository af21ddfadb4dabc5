"""A product's price history: every stored price decision (`pricing_data`), newest first, with what
moved it.

Rules:

* One entry per stored decision (one per job and marketplace), newest first (`created_at`, then id),
  optionally on one marketplace, at most `limit` of them.
* What moved it comes from the decision's JSON: the strategy used, and `why`: its reasons when it
  has any (they say why a price was held for review or is missing), else its steps' last line (the
  step that set the final price).
* `change` compares the entry with the previous decision of the same marketplace (the one made
  just before it, whether or not it is in the page): the amount and the percent of the previous
  price. None for a marketplace's first decision, when either has no price, or when their currencies
  differ; the percent is None when the previous price was 0.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from models import PriceRecord
from schemas.products import PriceChange, PriceHistoryEntry

CENT = Decimal("0.01")


def price_history(
    session: Session, product_id: int, *, marketplace: str | None = None, limit: int = 100
) -> list[PriceHistoryEntry]:
    """The product's price decisions, newest first (see the module's rules)."""
    order = (PriceRecord.created_at, PriceRecord.id)
    inner = select(
        PriceRecord,
        func.lag(PriceRecord.price)
        .over(partition_by=PriceRecord.marketplace, order_by=order)
        .label("previous"),
        func.lag(PriceRecord.currency)
        .over(partition_by=PriceRecord.marketplace, order_by=order)
        .label("previous_currency"),
    ).where(PriceRecord.product_id == product_id)
    if marketplace is not None:
        inner = inner.where(PriceRecord.marketplace == marketplace)
    rows = inner.subquery()
    record = aliased(PriceRecord, rows)
    query = (
        select(record, rows.c.previous, rows.c.previous_currency)
        .order_by(rows.c.created_at.desc(), rows.c.id.desc())
        .limit(limit)
    )
    return [
        _entry(row, previous_price, previous_currency)
        for row, previous_price, previous_currency in session.execute(query)
    ]


def _entry(
    record: PriceRecord, previous_price: Decimal | None, previous_currency: str | None
) -> PriceHistoryEntry:
    decision: dict[str, Any] = record.decision or {}
    steps: list[str] = [str(step) for step in decision.get("steps") or []]
    reasons: list[str] = [str(reason) for reason in decision.get("reasons") or []]
    return PriceHistoryEntry(
        job_id=record.job_id,
        marketplace=record.marketplace,
        price=record.price,
        currency=record.currency,
        status=record.status,
        applied=record.applied,
        created_at=record.created_at,
        strategy_used=decision.get("strategy_used"),
        why="; ".join(reasons) if reasons else (steps[-1] if steps else None),
        reasons=reasons,
        change=price_change(record.price, record.currency, previous_price, previous_currency),
    )


def price_change(
    price: Decimal | None, currency: str, previous: Decimal | None, previous_currency: str | None
) -> PriceChange | None:
    """From `previous` to `price`: the amount and the percent of the previous price (both to the cent)."""
    if price is None or previous is None or previous_currency != currency:
        return None
    amount = (price - previous).quantize(CENT, rounding=ROUND_HALF_UP)
    percent = None
    if previous != 0:
        percent = ((price - previous) * 100 / previous).quantize(CENT, rounding=ROUND_HALF_UP)
    return PriceChange(previous_price=previous, amount=amount, percent=percent)

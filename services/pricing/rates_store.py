"""Stored exchange rates (pricing): the latest published day, merged over the configured rates, and
refreshing them from the ECB when they are older than a day.

* `current_rates`: the latest stored day's rates, with the configured rates (EXCHANGE_RATES) for any
  currency that day lacks; the configured rates alone when nothing is stored. Its `as_of` is the day's
  date, which every price explanation names.
* `refresh_rates`: fetches the reference rates and stores them, unless rates were fetched less than
  `refresh_hours` ago. One worker process at a time fetches (a transaction-level advisory lock that the
  others skip); a failed fetch is reported and changes nothing, so pricing goes on with what it had.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import ExchangeRateRow
from services.pricing.ecb import RatesUnavailable, fetch_reference_rates
from services.pricing.money import ExchangeRates

_REFRESH_LOCK = 0x45_43_42_52  # "ECBR": one fetch at a time across worker processes


def current_rates(session: Session, configured: ExchangeRates) -> ExchangeRates:
    """The latest stored rates over the configured ones (module docstring)."""
    latest = session.scalar(select(func.max(ExchangeRateRow.as_of)))
    if latest is None:
        return configured
    rows = session.execute(
        select(ExchangeRateRow.currency, ExchangeRateRow.rate).where(ExchangeRateRow.as_of == latest)
    ).all()
    return ExchangeRates({**configured.rates, **{currency: rate for currency, rate in rows}}, latest)


def store_rates(session: Session, rates: ExchangeRates, source: str) -> int:
    """Store one day's rates (a day fetched twice keeps its rates, with the newer fetch time)."""
    values = [
        {"as_of": rates.as_of, "currency": currency, "rate": rate, "source": source[:200]}
        for currency, rate in rates.rates.items()
        if currency != "EUR"
    ]
    if values:
        statement = insert(ExchangeRateRow).values(values)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["as_of", "currency"],
                set_={
                    "rate": statement.excluded.rate,
                    "source": statement.excluded.source,
                    "created_at": func.now(),
                },
            )
        )
    return len(values)


def refresh_rates(
    session: Session,
    url: str,
    *,
    refresh_hours: float,
    fetch: Callable[[str], ExchangeRates] = fetch_reference_rates,
    now: datetime | None = None,
) -> ExchangeRates | None:
    """Fetch and store the rates when due; the rates stored, or None (not due, another process is at
    it, or nothing configured). RatesUnavailable when the fetch failed."""
    if not url:
        return None
    if not session.scalar(select(func.pg_try_advisory_xact_lock(_REFRESH_LOCK))):
        return None
    fetched = session.scalar(select(func.max(ExchangeRateRow.created_at)))
    moment = now or datetime.now(UTC)
    if fetched is not None and moment - fetched < timedelta(hours=refresh_hours):
        return None
    rates = fetch(url)
    store_rates(session, rates, url)
    return rates


__all__ = ["RatesUnavailable", "current_rates", "refresh_rates", "store_rates"]

"""Exchange rates as published: units of each currency for 1 EUR on a day (the ECB's reference rates),
one row per day and currency, and when they were fetched. Pricing uses the latest day, with the
configured rates (EXCHANGE_RATES) for currencies the day lacks and as the fallback when none is stored.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class ExchangeRateRow(Base):
    __tablename__ = "exchange_rates"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    source: Mapped[str] = mapped_column(String(200))  # where they came from (the URL)
    created_at: Mapped[datetime] = created_at_column()  # when they were fetched

"""exchange rates

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:30:00

exchange_rates: the ECB's euro reference rates as fetched, one row per day and currency (units of the
currency for 1 EUR), with where they came from and when. Pricing uses the latest day, the configured
EXCHANGE_RATES for what it lacks (services.pricing.rates_store).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("as_of", "currency", name=op.f("pk_exchange_rates")),
    )
    # Supabase's REST API serves public tables to the anon key unless RLS is on (see 0001).
    op.execute("ALTER TABLE exchange_rates ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_table("exchange_rates")

"""prices: VAT, one margin, the competitors' marketplaces

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:00:00

pricing_profiles: `use_other_marketplaces` (offers seen on other marketplaces count, converted;
default off), `min_source_percent` (without a cost, a price below this share of the source price
needs review) and `category_vat_rates` (reduced VAT per country and category).
product_listings: the decision's `floor`, `vat_percent` and `fee_percent`, so the score stage can tell
a price below its floor and take the rules' margin as pricing does.

`margin_floor_percent` was a markup on the cost (floor = cost / (1 − fee) × (1 + k)); it is now a
margin, a share of the net price (services.pricing.margin). A markup of k % leaves k / (100 + k) of
what is left after the fee, so stored values become 100 × k / (100 + k), rounded up to the column's
3 decimals (10 → 9.091): the floor a seller set stays where it was or rises (it now includes VAT).

The seeded default profile gets a floor at cost + fee + VAT (a margin of 0) and holds, when the cost
is unknown, prices below 80 % of the source price for review.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERCENT = sa.Numeric(precision=7, scale=3)


def upgrade() -> None:
    op.add_column(
        "pricing_profiles",
        sa.Column("use_other_marketplaces", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column("pricing_profiles", sa.Column("min_source_percent", PERCENT, nullable=True))
    op.add_column(
        "pricing_profiles",
        sa.Column(
            "category_vat_rates",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("product_listings", sa.Column("floor", sa.Numeric(precision=12, scale=2), nullable=True))
    op.add_column("product_listings", sa.Column("vat_percent", PERCENT, nullable=True))
    op.add_column("product_listings", sa.Column("fee_percent", PERCENT, nullable=True))

    # A markup on the cost becomes the margin it leaves (rounded up: the floor never drops).
    op.execute(
        "UPDATE pricing_profiles SET margin_floor_percent ="
        " ceil(margin_floor_percent * 100000 / (100 + margin_floor_percent)) / 1000"
        " WHERE margin_floor_percent IS NOT NULL"
    )
    # The seeded default: never below cost + fee + VAT; without a cost, not far below the source price.
    op.execute(
        "UPDATE pricing_profiles SET margin_floor_percent = 0, min_source_percent = 80"
        " WHERE name = 'default' AND margin_floor_percent IS NULL AND min_source_percent IS NULL"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE pricing_profiles SET margin_floor_percent = NULL"
        " WHERE name = 'default' AND margin_floor_percent = 0 AND min_source_percent = 80"
    )
    # Back to a markup: k = 100 × m / (100 − m), rounded down so that 10 → 9.091 → 10 again (and
    # within the column: a margin of 99.99 % was a markup of 999,900 %).
    op.execute(
        "UPDATE pricing_profiles SET margin_floor_percent ="
        " least(floor(margin_floor_percent * 100000 / (100 - margin_floor_percent)) / 1000, 9999.999)"
        " WHERE margin_floor_percent IS NOT NULL"
    )
    op.drop_column("product_listings", "fee_percent")
    op.drop_column("product_listings", "vat_percent")
    op.drop_column("product_listings", "floor")
    op.drop_column("pricing_profiles", "category_vat_rates")
    op.drop_column("pricing_profiles", "min_source_percent")
    op.drop_column("pricing_profiles", "use_other_marketplaces")

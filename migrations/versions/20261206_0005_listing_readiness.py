"""listing readiness

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:00:00

product_listings: the copy's detected language, whether the listing may go out (publishable) and the
blockers that say why not, written by the score stage.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("product_listings", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column("product_listings", sa.Column("publishable", sa.Boolean(), nullable=True))
    op.add_column(
        "product_listings", sa.Column("blockers", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("product_listings", "blockers")
    op.drop_column("product_listings", "publishable")
    op.drop_column("product_listings", "language")

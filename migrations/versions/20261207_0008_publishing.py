"""publishing

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 00:30:00

product_listings gets what publishing keeps per marketplace: the SKU, the marketplace's ids (ASIN or
SKU, offer id, listing id, unit id), the last publish's status and issues, and the price, quantity and
copy key last sent (a re-import compares with them to update a live offer's price and quantity only).
sync_logs gets the job that made the exchange and the values before and after, and indexes for a
product's history and a marketplace's last success and error.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.add_column("product_listings", sa.Column("sku", sa.String(length=64), nullable=True))
    op.add_column("product_listings", sa.Column("marketplace_ids", jsonb, nullable=True))
    op.add_column("product_listings", sa.Column("publish_status", sa.String(length=16), nullable=True))
    op.add_column("product_listings", sa.Column("publish_issues", jsonb, nullable=True))
    op.add_column("product_listings", sa.Column("published_price", sa.Numeric(12, 2), nullable=True))
    op.add_column("product_listings", sa.Column("published_quantity", sa.Integer(), nullable=True))
    op.add_column("product_listings", sa.Column("published_copy_key", sa.String(length=64), nullable=True))
    op.add_column("product_listings", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("sync_logs", sa.Column("job_id", sa.Uuid(), nullable=True))
    op.add_column("sync_logs", sa.Column("old_values", jsonb, nullable=True))
    op.add_column("sync_logs", sa.Column("new_values", jsonb, nullable=True))
    op.create_index("ix_sync_logs_job_id", "sync_logs", ["job_id"])
    op.create_index(
        "ix_sync_logs_marketplace_status_created", "sync_logs", ["marketplace", "status", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sync_logs_marketplace_status_created", table_name="sync_logs")
    op.drop_index("ix_sync_logs_job_id", table_name="sync_logs")
    for column in ("new_values", "old_values", "job_id"):
        op.drop_column("sync_logs", column)
    for column in (
        "published_at", "published_copy_key", "published_quantity", "published_price", "publish_issues",
        "publish_status", "marketplace_ids", "sku",
    ):  # fmt: skip
        op.drop_column("product_listings", column)

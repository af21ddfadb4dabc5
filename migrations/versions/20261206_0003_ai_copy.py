"""ai copy

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 13:40:00

What the optimize stage writes: each listing's copy (the cleaned description beside the title), how
it was written (ai_status, the reason, the grounding score, the model and prompt version, the tokens
it cost, the key of its inputs), the tokens each job item spent, and ai_copy_cache, the model's
answers by what it was sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTING_COLUMNS = (
    ("description_html", sa.Text()),
    ("ai_status", sa.String(length=16)),
    ("ai_reason", sa.Text()),
    ("ai_grounding", sa.Float()),
    ("ai_model", sa.String(length=64)),
    ("ai_prompt_version", sa.String(length=16)),
    ("ai_prompt_tokens", sa.Integer()),
    ("ai_completion_tokens", sa.Integer()),
    ("ai_key", sa.String(length=64)),
)
ITEM_COLUMNS = (
    ("ai_prompt_tokens", sa.Integer()),
    ("ai_completion_tokens", sa.Integer()),
    ("ai_requests", sa.SmallInteger()),
)


def upgrade() -> None:
    op.create_table(
        "ai_copy_cache",
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("marketplace", sa.String(length=32), nullable=False),
        sa.Column("prompt_version", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("ai_status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description_html", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("grounding", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint(
            "source_hash", "marketplace", "prompt_version", "model", name=op.f("pk_ai_copy_cache")
        ),
    )
    op.execute("ALTER TABLE ai_copy_cache ENABLE ROW LEVEL SECURITY")  # see 0001
    for name, type_ in LISTING_COLUMNS:
        op.add_column("product_listings", sa.Column(name, type_, nullable=True))
    for name, type_ in ITEM_COLUMNS:
        op.add_column("job_items", sa.Column(name, type_, server_default="0", nullable=False))


def downgrade() -> None:
    for name, _ in reversed(ITEM_COLUMNS):
        op.drop_column("job_items", name)
    for name, _ in reversed(LISTING_COLUMNS):
        op.drop_column("product_listings", name)
    op.drop_table("ai_copy_cache")

"""callbacks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:30:00

callback_attempts: every attempt to deliver a job's end to its `options.callback_url`, with the
receiver's status code or the error; import_jobs.callback_status: pending, delivered or failed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("import_jobs", sa.Column("callback_status", sa.String(length=16), nullable=True))
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.SmallInteger(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_callback_attempts_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
    )
    op.create_index(op.f("ix_callback_attempts_job_id"), "callback_attempts", ["job_id"], unique=False)
    # Supabase's REST API serves public tables to the anon key unless RLS is on (see 0001).
    op.execute("ALTER TABLE callback_attempts ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_index(op.f("ix_callback_attempts_job_id"), table_name="callback_attempts")
    op.drop_table("callback_attempts")
    op.drop_column("import_jobs", "callback_status")

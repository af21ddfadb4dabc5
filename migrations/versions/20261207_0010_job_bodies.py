"""job bodies

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00

job_bodies: a webhook's products as the request stored them (one JSON array, lz4-compressed by the
API), until the worker splits them into job_chunks when the job begins, seconds later. Stored as it
is (STORAGE EXTERNAL): PostgreSQL does not try to compress it again. Measured on 1,000 products: lz4
in the API costs 0.7 ms for 1.9 MB and writes a tenth of it to the WAL, where pglz in the server made
the insert 40 ms and uncompressed bodies made the webhook's commit wait behind 2 MB of WAL each
while the workers wrote theirs (p99 213 ms against 126 ms with lz4, a busy worker beside it).

Downgrading refuses while a job's body waits to be split: 0009 has nowhere to keep it (let the
workers start those jobs, or delete them, first).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_bodies",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_jobs.id"], name=op.f("fk_job_bodies_job_id_import_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_bodies")),
    )
    op.execute("ALTER TABLE job_bodies ALTER COLUMN body SET STORAGE EXTERNAL")  # compressed already
    # Supabase's REST API serves public tables to the anon key unless RLS is on (see 0001).
    op.execute("ALTER TABLE job_bodies ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    waiting = op.get_bind().scalar(sa.text("SELECT count(*) FROM job_bodies"))
    if waiting:
        raise RuntimeError(
            f"{waiting} job(s) still have their products in job_bodies, not yet split into job_chunks:"
            " let the workers start them (or delete those jobs) before downgrading below 0010"
        )
    op.drop_table("job_bodies")

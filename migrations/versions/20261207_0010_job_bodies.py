"""job bodies

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00

job_bodies: a webhook's products as the request stored them (one JSON array), until the worker
splits them into job_chunks when the job begins, seconds later. Compressed with lz4 where the server
was built with it (Supabase's is): in C, in PostgreSQL, not in the API process. Elsewhere stored
uncompressed (STORAGE EXTERNAL) rather than with the default pglz: measured on 1,000 scraped
products (2.5 MB of JSON), pglz made the insert 40 ms against 10 ms uncompressed, and zlib in the API
cost it 19 ms of CPU, all in the webhook's request, for a row that lives only until the job begins.

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


def _has_lz4() -> bool:
    # The values a server accepts for its default TOAST compression name lz4 only when it was built
    # with lz4 (PostgreSQL 14 and later; an older server has no such setting).
    values = op.get_bind().scalar(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    )
    return "lz4" in (values or [])


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
    if _has_lz4():
        op.execute("ALTER TABLE job_bodies ALTER COLUMN body SET COMPRESSION lz4")
    else:
        op.execute("ALTER TABLE job_bodies ALTER COLUMN body SET STORAGE EXTERNAL")
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

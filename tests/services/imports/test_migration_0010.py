"""Migration 0010: job_bodies, stored as they come (the API compresses them), and a downgrade that
refuses while a job's products wait in it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.support.servers import create_database, migrate


def test_bodies_are_not_compressed_again_and_a_waiting_body_stops_the_downgrade():
    url = create_database("listing_migration_0010")
    migrate(url, "0010")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            storage = connection.scalar(
                text(
                    "SELECT attstorage FROM pg_attribute"
                    " WHERE attrelid = 'job_bodies'::regclass AND attname = 'body'"
                )
            )
            assert storage == "e"  # external: out of line, never compressed by the server

            job_id = uuid.uuid4()
            connection.execute(
                text("INSERT INTO import_jobs (id, source) VALUES (:id, 'allegro')"), {"id": job_id}
            )
            connection.execute(
                text("INSERT INTO job_bodies (job_id, chunk_size, body) VALUES (:id, 500, '[]')"),
                {"id": job_id},
            )

        with pytest.raises(RuntimeError, match="1 job\\(s\\) still have their products in job_bodies"):
            migrate(url, "0009", down=True)

        with engine.begin() as connection:
            connection.execute(text("DELETE FROM import_jobs"))
        migrate(url, "0009", down=True)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT to_regclass('job_bodies')")) is None
    finally:
        engine.dispose()

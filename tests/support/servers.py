"""The suite's PostgreSQL and Redis, and fresh databases on them.

tests/conftest.py fills `SERVERS` when the session starts (embedded servers, or TEST_DATABASE_URL /
TEST_REDIS_URL) and stops what it started at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.servers import LocalPostgres, LocalRedis

TEST_DB = "listing_test"  # the suite's database (each test's work in it is rolled back)


class _Servers:
    postgres: LocalPostgres | None = None
    redis: LocalRedis | None = None
    tmp: Path | None = None
    admin_url = ""  # a psycopg URL to the server's maintenance database
    redis_base = ""  # redis://host:port (the suite picks the database number)


SERVERS = _Servers()


def create_database(name: str) -> str:
    """A fresh, empty database on the test server; returns its SQLAlchemy URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(SERVERS.admin_url)
    libpq = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def migrate(url: str, revision: str, *, down: bool = False) -> None:
    """`alembic upgrade <revision>` (or `downgrade`) on the database at `url`."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from services.platform.db import ROOT

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logging"] = False
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()

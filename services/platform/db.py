"""The database engine and session factory (platform), created on first use, never at import time in
a worker process; and the migrations' `upgrade head`. Imports only settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import psycopg
import psycopg.types.json
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from services.platform.settings import Settings, get_settings


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# psycopg parses jsonb and SQLAlchemy serializes JSON with orjson: 5-15x faster than the stdlib on
# the product payloads the stages read and write.
psycopg.types.json.set_json_loads(orjson.loads)
psycopg.types.json.set_json_dumps(orjson.dumps)


def create_db_engine(settings: Settings, **overrides: Any) -> Engine:
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set. Run `scripts/dev` to start local servers, or set it.")
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if settings.prepared_statements_disabled:
        # Supabase's transaction pooler hands each transaction to any backend: a prepared
        # statement made on one is unknown on the next.
        connect_args["prepare_threshold"] = None
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
        "connect_args": connect_args,
    }
    options.update(overrides)
    return create_engine(settings.database_url, **options)


@lru_cache
def get_engine() -> Engine:
    return create_db_engine(get_settings())


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


def psycopg_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under the session's transaction, for COPY and pipelined batches."""
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


ROOT = Path(__file__).resolve().parents[2]  # where alembic.ini is, in a checkout as on Railway


def upgrade_database(database_url: str) -> None:
    """`alembic upgrade head` on the given database."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logging"] = False
    engine = create_engine(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()

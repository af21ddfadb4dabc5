"""Real PostgreSQL and Redis for the whole suite, started once.

With TEST_DATABASE_URL / TEST_REDIS_URL unset (the usual case), the suite starts the embedded servers
itself. The settings read the environment, so it is set here before any product module is imported.
Each database test runs inside a transaction that is rolled back, even when the code under test
commits (SQLAlchemy's "join into an external transaction" recipe with savepoints).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from tests.support.api import API_KEY, AUTH
from tests.support.servers import SERVERS, TEST_DB, create_database

# Property tests explore new examples on every run on a developer's machine (that is how they find
# bugs); in CI (CI=true) they run the same examples every time, so a submission is judged on its code,
# not on the luck of the draw. A failure found locally is kept in .hypothesis/ and replayed.
settings.register_profile("ci", derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def pytest_configure(config: pytest.Config) -> None:
    from devstack.servers import LocalPostgres, LocalRedis, free_port

    SERVERS.tmp = Path(tempfile.mkdtemp(prefix="listing-tests-"))
    if url := os.environ.get("TEST_DATABASE_URL"):
        SERVERS.admin_url = url
    else:
        SERVERS.postgres = LocalPostgres(SERVERS.tmp / "pg", free_port(), durable=False)
        SERVERS.postgres.start()
        SERVERS.admin_url = SERVERS.postgres.url()
    if url := os.environ.get("TEST_REDIS_URL"):
        SERVERS.redis_base = url.rstrip("/").rsplit("/", 1)[0] if url.count("/") > 2 else url
    else:
        SERVERS.redis = LocalRedis(SERVERS.tmp / "redis", free_port(), durable=False)
        SERVERS.redis.start()
        SERVERS.redis_base = f"redis://127.0.0.1:{SERVERS.redis.port}"

    from services.platform.db import upgrade_database

    test_url = create_database(TEST_DB)
    upgrade_database(test_url)
    os.environ.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": test_url,
            "REDIS_URL": f"{SERVERS.redis_base}/0",
            "WEBHOOK_SECRET": "test-secret",
            "API_KEY": API_KEY,
            "LOG_LEVEL": "WARNING",
            "EXCHANGE_RATES_URL": "",  # no network here: the configured rates
        }
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    if SERVERS.redis:
        SERVERS.redis.stop()
    if SERVERS.postgres:
        from services.platform.db import get_engine

        get_engine().dispose()
        SERVERS.postgres.stop(mode="immediate")
    if SERVERS.tmp:
        shutil.rmtree(SERVERS.tmp, ignore_errors=True)


@pytest.fixture
def db_session() -> Iterator[Session]:
    """A session whose work, commits included, is rolled back when the test ends."""
    from sqlalchemy.orm import Session

    from services.platform.db import get_engine

    connection = get_engine().connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def redis_client():
    from workers.broker import broker

    broker.client.flushdb()
    yield broker.client
    broker.client.flushdb()


def _api_client(db_session, headers: dict[str, str]):
    from fastapi.testclient import TestClient

    from api.app import app
    from api.deps import get_session

    app.dependency_overrides[get_session] = lambda: db_session
    with TestClient(app, headers=headers) as test_client:
        yield test_client
    app.dependency_overrides.clear()


@pytest.fixture
def client(db_session, redis_client):
    """The API in-process, on the test's rolled-back session, with the bootstrap API key (write)."""
    yield from _api_client(db_session, AUTH)


@pytest.fixture
def anonymous_client(db_session, redis_client):
    """The API in-process, on the test's rolled-back session, sending no credentials."""
    yield from _api_client(db_session, {})

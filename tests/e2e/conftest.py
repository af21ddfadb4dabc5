"""The product as processes: uvicorn and `dramatiq workers.main`, on real Postgres and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine

from services.platform.db import upgrade_database
from tests.support.servers import SERVERS, create_database
from tests.support.stack import API_KEY, SECRET, Stack


@pytest.fixture
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """A fresh database and Redis database for one test, with nothing started yet."""
    database_url = create_database("listing_e2e")
    upgrade_database(database_url)
    env = {
        "APP_ENV": "test",
        "EXCHANGE_RATES_URL": "",  # no network here: the configured rates
        "DATABASE_URL": database_url,
        "REDIS_URL": f"{SERVERS.redis_base}/1",
        "WEBHOOK_SECRET": SECRET,
        "API_KEY": API_KEY,
        "LOG_LEVEL": "INFO",
        "SWEEP_INTERVAL_SECONDS": "0.5",
        "SWEEP_PENDING_AFTER_SECONDS": "2",
        "IMPORT_CHUNK_SIZE": "20",
        "WORKER_METRICS_PORT": "0",  # no exporter on 9191 unless a test asks for one
    }
    engine = create_engine(database_url)
    stack = Stack(env=env, logs=tmp_path, engine=engine)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    yield stack
    stack.stop_all()
    engine.dispose()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(stack.tail_logs())  # shown with the failure


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keeps each phase's report on the test item, so a fixture can tell that its test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report

"""The Dramatiq broker (Redis) and its middleware, in one place.

Imported by every module that declares or sends actors, before they are declared. The Redis client
is created here but connects lazily, so importing this module does no I/O.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from services.platform.settings import get_settings
from workers.middleware import LogContext

QUEUE = get_settings().worker_queue

# Transient failures (database restart, lost connection) retry with backoff; bad data never raises
# (it is recorded per product), so retries are for the machinery, and bounded.
RETRY_OPTIONS: dict[str, Any] = {"max_retries": 8, "min_backoff": 500, "max_backoff": 30_000}


def create_broker() -> RedisBroker:
    settings = get_settings()
    client = redis.Redis.from_url(
        settings.redis_url or "redis://127.0.0.1:6379/0",
        socket_timeout=settings.redis_socket_timeout_seconds,
        # A webhook must not hang on a dead Redis: fail fast, the sweeper re-sends later.
        socket_connect_timeout=settings.redis_connect_timeout_seconds,
        health_check_interval=30,
    )
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        client=client,
        heartbeat_timeout=int(settings.broker_heartbeat_timeout_seconds * 1000),
        maintenance_chance=settings.broker_maintenance_chance,
    )
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(LogContext())
    return broker


broker = create_broker()
dramatiq.set_broker(broker)

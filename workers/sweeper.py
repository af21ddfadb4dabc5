"""Re-sends jobs whose message was lost, from a thread in every worker process.

The job row is the outbox: a webhook commits the job before it tries to send the message, so if
Redis was down (or the process died) in between, the job sits `pending` in Postgres. Every
`SWEEP_INTERVAL_SECONDS` each worker process claims (with SKIP LOCKED, so sweepers never collide) the
jobs pending for longer than `SWEEP_PENDING_AFTER_SECONDS`, or running with no item moving for
`SWEEP_STALLED_AFTER_SECONDS`, and sends `import_job` for them again. That message is idempotent.
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
import structlog
from dramatiq.middleware import Middleware

from services.pipeline import jobs
from services.platform.settings import get_settings
from workers import messages
from workers.db import session_scope
from workers.outbox import send_after_commit

log = structlog.get_logger(__name__)


def sweep_once() -> int:
    settings = get_settings()
    with session_scope() as session:
        job_ids = jobs.claim_lost_jobs(
            session,
            pending_after_seconds=settings.sweep_pending_after_seconds,
            stalled_after_seconds=settings.sweep_stalled_after_seconds,
        )
        for job_id in job_ids:
            send_after_commit(session, messages.import_job(str(job_id)))
    if job_ids:
        log.warning("sweeper.resent", job_ids=[str(j) for j in job_ids])
    return len(job_ids)


class Sweeper(Middleware):
    """Runs `sweep_once` every few seconds in each worker process, until it shuts down."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._stop.set()

    def _run(self) -> None:
        interval = get_settings().sweep_interval_seconds
        while not self._stop.wait(interval):
            try:
                sweep_once()
            except Exception as exc:  # the database or Redis is down: try again next round
                log.warning("sweeper.failed", error=str(exc) or type(exc).__name__)

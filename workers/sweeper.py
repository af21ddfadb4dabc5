"""Re-sends jobs whose message was lost, from a thread in every worker process.

The job row is the outbox: a webhook commits the job before it tries to send the message, so if
Redis was down (or the process died) in between, the job sits `pending` in Postgres. Every
`SWEEP_INTERVAL_SECONDS` each worker process claims (with SKIP LOCKED, so sweepers never collide) the
jobs pending for longer than `SWEEP_PENDING_AFTER_SECONDS`, or running with no item moving for
`SWEEP_STALLED_AFTER_SECONDS`, and sends `import_job` for them again. That message is idempotent.
Job-end callbacks left pending with no attempt for 15 minutes get their message again too.

The same thread keeps the exchange rates fresh: when the stored ones were fetched more than
EXCHANGE_RATES_REFRESH_HOURS ago, one worker process (an advisory lock the others skip) fetches the
ECB's (services.pricing.rates_store). A failed fetch is logged and tried again after
RATES_RETRY_SECONDS; pricing goes on with the rates it has.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
import structlog
from dramatiq.middleware import Middleware

from services.callbacks import store as callback_store
from services.pipeline import jobs
from services.platform.settings import get_settings
from services.pricing.rates_store import RatesUnavailable, refresh_rates
from workers import messages
from workers.db import session_scope
from workers.outbox import send_after_commit

log = structlog.get_logger(__name__)

RATES_RETRY_SECONDS = 15 * 60  # after a failed fetch: the ECB publishes once a day
CALLBACK_LOST_AFTER_SECONDS = 15 * 60


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
        # A retry waits at most 10 minutes (services.callbacks.schedule): after 15, the message is lost.
        callbacks = callback_store.claim_lost(session, after_seconds=CALLBACK_LOST_AFTER_SECONDS)
        for job_id in callbacks:
            send_after_commit(session, messages.send_callback(str(job_id)))
    if job_ids:
        log.warning("sweeper.resent", job_ids=[str(j) for j in job_ids])
    if callbacks:
        log.warning("sweeper.resent_callbacks", job_ids=[str(j) for j in callbacks])
    return len(job_ids) + len(callbacks)


def refresh_rates_once() -> bool:
    """Fetch and store the exchange rates when due; whether new rates were stored. RatesUnavailable
    when the fetch failed."""
    settings = get_settings()
    with session_scope() as session:
        rates = refresh_rates(
            session, settings.exchange_rates_url, refresh_hours=settings.exchange_rates_refresh_hours
        )
    if rates is not None:
        log.info("rates.refreshed", as_of=rates.as_of.isoformat(), currencies=len(rates.rates))
    return rates is not None


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
        rates_due = 0.0  # monotonic time of the next rates check
        while not self._stop.wait(interval):
            try:
                sweep_once()
            except Exception as exc:  # the database or Redis is down: try again next round
                log.warning("sweeper.failed", error=str(exc) or type(exc).__name__)
            if time.monotonic() >= rates_due:
                rates_due = time.monotonic() + interval
                try:
                    refresh_rates_once()
                except RatesUnavailable as exc:
                    rates_due = time.monotonic() + RATES_RETRY_SECONDS
                    log.warning("rates.fetch_failed", error=str(exc), retry_in_seconds=RATES_RETRY_SECONDS)
                except Exception as exc:  # the database is down: the sweep above says so too
                    log.warning("rates.refresh_failed", error=str(exc) or type(exc).__name__)

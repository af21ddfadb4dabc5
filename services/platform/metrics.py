"""The product's own Prometheus metrics (prefix `listing_`) and the small typed functions that record
them. Platform: every layer may record; it imports nothing of the domains.

    listing_products_total{stage, outcome}          products a stage handled: outcome passed (worked and
                                                    moved on), skipped (moved on without work: inputs
                                                    unchanged; at the import, a repeat in its batch)
                                                    or failed
    listing_jobs_finished_total{status}             jobs ended: completed, completed_with_errors, failed
    listing_job_duration_seconds{status}            a job's time from its creation (the webhook) to its end
    listing_llm_tokens_total{kind}                  tokens the copy model spent: kind prompt or completion
    listing_llm_requests_total                      requests made to the copy model
    listing_publish_results_total{marketplace, status}
                                                    the marketplaces' answers per listing: published,
                                                    updated, valid (a preview), rejected, failed
    listing_callback_attempts_total{outcome}        job-end callbacks sent, by outcome

Each process serves what it recorded: the API at GET /metrics (api/metrics.py), the workers through
their exporter (workers/metrics.py), which also reads the queue depth from Redis at scrape time.

prometheus_client is imported on first use, not when this module is imported: a process decides
once, when it first imports prometheus_client, whether its values live in memory or in files shared
by processes (PROMETHEUS_MULTIPROC_DIR, multiprocess mode). A worker process imports its actors
(and so this module) before it boots, and sets that directory up when it boots
(workers.metrics.WorkerMetrics); a metric created earlier would stay in the process's memory,
where the exporter cannot see it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

# From a batch of a few products to one waiting an hour for the model's rate limits.
JOB_DURATION_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, float("inf"))


@dataclass(frozen=True, slots=True)
class _Metrics:
    products: Counter
    jobs_finished: Counter
    job_duration: Histogram
    llm_tokens: Counter
    llm_requests: Counter
    publish_results: Counter
    callback_attempts: Counter


_created: _Metrics | None = None
_creating = threading.Lock()


def _metrics() -> _Metrics:
    """The metrics, created on first use (see the module's docstring), once: a worker's threads may
    all record their first value at the same time."""
    global _created
    if _created is None:
        with _creating:
            if _created is None:
                _created = _create()
    return _created


def _create() -> _Metrics:
    from prometheus_client import Counter, Histogram

    return _Metrics(
        products=Counter(
            "listing_products_total",
            "Products a pipeline stage handled, by outcome: passed, skipped (no work needed), failed.",
            ["stage", "outcome"],
        ),
        jobs_finished=Counter("listing_jobs_finished_total", "Jobs that ended, by status.", ["status"]),
        job_duration=Histogram(
            "listing_job_duration_seconds",
            "Seconds from a job's creation to its end, by status.",
            ["status"],
            buckets=JOB_DURATION_BUCKETS,
        ),
        llm_tokens=Counter(
            "listing_llm_tokens_total", "Tokens the copy model spent, by kind: prompt, completion.", ["kind"]
        ),
        llm_requests=Counter("listing_llm_requests_total", "Requests made to the copy model."),
        publish_results=Counter(
            "listing_publish_results_total",
            "Listings the marketplaces answered for, by marketplace and status.",
            ["marketplace", "status"],
        ),
        callback_attempts=Counter(
            "listing_callback_attempts_total", "Job-end callback attempts, by outcome.", ["outcome"]
        ),
    )


def products_handled(stage: str, *, passed: int, skipped: int = 0, failed: int = 0) -> None:
    """What one stage did with one chunk (or a slice of one). Zeros are recorded too: a stage's
    series exist from its first chunk on, so that a rate over them starts at once."""
    products = _metrics().products
    for outcome, count in (("passed", passed), ("skipped", skipped), ("failed", failed)):
        products.labels(stage, outcome).inc(max(count, 0))


def job_finished(status: str, seconds: float) -> None:
    """A job ended with `status`, `seconds` after it was created."""
    metrics = _metrics()
    metrics.jobs_finished.labels(status).inc()
    metrics.job_duration.labels(status).observe(max(seconds, 0.0))


def llm_used(*, requests: int, prompt_tokens: int, completion_tokens: int) -> None:
    """The copy model's use by one slice of the optimize stage."""
    metrics = _metrics()
    metrics.llm_requests.inc(max(requests, 0))
    metrics.llm_tokens.labels("prompt").inc(max(prompt_tokens, 0))
    metrics.llm_tokens.labels("completion").inc(max(completion_tokens, 0))


def publish_results(counts: Mapping[tuple[str, str], int]) -> None:
    """The marketplaces' answers of one publish chunk: listings by (marketplace, status)."""
    if not counts:
        return
    results = _metrics().publish_results
    for (marketplace, status), count in counts.items():
        results.labels(marketplace, status).inc(max(count, 0))


def record_callback_attempt(outcome: str) -> None:
    """One attempt to deliver a job's callback, by its outcome."""
    _metrics().callback_attempts.labels(outcome).inc()

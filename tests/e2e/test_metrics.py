"""End to end: a job moves the API's /metrics and the worker's exporter (every worker process's
metrics, Dramatiq's and the product's, with the queue depth read from Redis); a worker run never
reads a stale run's values (nor keeps them), and METRICS_TOKEN guards both."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from devstack.servers import free_port
from devstack.stack import spawn_worker
from tests.support.factories import product
from tests.support.metrics import sample
from tests.support.stack import Stack
from workers import messages
from workers.metrics import DIRECTORY_PREFIX

pytestmark = pytest.mark.e2e

TOKEN = "e2e-metrics-token-0123456789"


def products_total(text: str, stage: str, outcome: str) -> float | None:
    return sample(text, "listing_products_total", stage=stage, outcome=outcome)


def start(stack: Stack, *, processes: int = 1, **env: str) -> str:
    """The API and a worker whose exporter listens on a port of its own; returns its /metrics URL."""
    port = free_port()
    stack.env.update({"WORKER_METRICS_PORT": str(port), "WORKER_METRICS_HOST": "127.0.0.1", **env})
    stack.start_api()
    log = (stack.logs / "worker.log").open("ab")
    stack.processes["worker"] = spawn_worker(stack.env, processes=processes, threads=4, log=log)
    return f"http://127.0.0.1:{port}/metrics"


def scrape(url: str, headers: dict[str, str] | None = None, timeout: float = 60) -> str:
    """The exporter's answer, once it is up (it starts when the worker processes have booted)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, headers=headers, timeout=5)
            response.raise_for_status()
            return response.text
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run_job(stack: Stack, products: list[dict[str, Any]]) -> dict[str, Any]:
    response = stack.post("/api/import/webhook", {"source": "allegro", "products": products})
    assert response.status_code == 202, response.text
    return stack.wait_for_job(response.json()["job_id"])


def run_directories(master_pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"{DIRECTORY_PREFIX}{master_pid}-*"))


def test_a_job_moves_the_api_and_the_worker_metrics(stack):
    worker_url = start(stack, processes=2)  # as on Railway: the exporter sums the processes' values
    products = [product(i) for i in range(45)]  # chunks of 20: three
    products[5]["title"] = "   "  # invalid: fails at the import
    products.append(product(7, title="Sony WH-1000XM4 scraped again"))  # a repeat: the earlier is skipped

    job = run_job(stack, products)
    assert job["status"] == "completed_with_errors"

    text = scrape(worker_url)
    assert products_total(text, "import", "passed") == 44
    assert products_total(text, "import", "skipped") == 1
    assert products_total(text, "import", "failed") == 1
    for stage in ("normalize", "price", "score"):
        assert products_total(text, stage, "passed") == 44, stage
        assert products_total(text, stage, "failed") == 0, stage
    assert sample(text, "listing_jobs_finished_total", status="completed_with_errors") == 1
    assert sample(text, "listing_job_duration_seconds_count", status="completed_with_errors") == 1
    # Dramatiq's own, from the same worker processes.
    chunks_done = sample(
        text, "dramatiq_messages_total", queue_name="pipeline", actor_name="pipeline.import_chunk"
    )
    assert (chunks_done or 0) >= 3
    # The queue, read from Redis at the scrape: the job is done, nothing waits.
    assert sample(text, "listing_queue_depth", queue="pipeline", state="waiting") == 0
    assert sample(text, "listing_queue_depth", queue="pipeline", state="delayed") == 0

    # A second job: the counts move on, a completed job counts as such.
    job = run_job(stack, [product(i) for i in range(100, 110)])
    assert job["status"] == "completed"
    text = scrape(worker_url)
    assert products_total(text, "import", "passed") == 54
    assert products_total(text, "score", "passed") == 54
    assert sample(text, "listing_jobs_finished_total", status="completed") == 1

    # A message delayed by ten minutes: the gauge sees it at the next scrape.
    broker = RedisBroker(client=redis.Redis.from_url(stack.env["REDIS_URL"]))
    broker.enqueue(messages.import_job(str(uuid.uuid4())), delay=600_000)
    assert sample(scrape(worker_url), "listing_queue_depth", queue="pipeline", state="delayed") == 1

    api = httpx.get(f"{stack.base_url}/metrics", timeout=10).text
    webhook = {"method": "POST", "route": "/api/import/webhook", "status": "202"}
    assert sample(api, "http_requests_total", **webhook) == 2
    polls = {"method": "GET", "route": "/api/import/job/{job_id}", "status": "200"}
    assert (sample(api, "http_requests_total", **polls) or 0) >= 2
    assert "listing_products_total" not in api  # the workers' are the exporter's


def test_a_restarted_worker_starts_afresh_and_the_token_guards_both(stack):
    worker_url = start(stack, METRICS_TOKEN=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    run_job(stack, [product(i) for i in range(20)])
    assert products_total(scrape(worker_url, auth), "import", "passed") == 20
    assert httpx.get(worker_url, timeout=5).status_code == 401
    assert httpx.get(f"{stack.base_url}/metrics", timeout=5).status_code == 401
    assert httpx.get(f"{stack.base_url}/metrics", headers=auth, timeout=5).status_code == 200
    first_run = stack.processes["worker"].pid
    assert run_directories(first_run)

    stack.kill("worker")  # SIGKILL to all its processes: nothing cleans up after them
    assert run_directories(first_run)
    stack.start_worker()  # the same port, a new run
    run_job(stack, [product(i) for i in range(200, 210)])

    text = scrape(worker_url, auth)
    assert products_total(text, "import", "passed") == 10  # not 30: the first run's values are gone
    assert not run_directories(first_run)  # removed when the new run booted

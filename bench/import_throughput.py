"""Import throughput, webhook 202 → job completed, against the straightforward design.

    .venv/bin/python -m bench.import_throughput [--products 10000] [--batch 1000]

Starts its own PostgreSQL (fsync on, as in production) and Redis, then for each design a fresh
database, the real API (uvicorn) and a worker (dramatiq) as processes:

- bulk:     the product's worker (`workers.main`): chunks of 500, one bulk upsert per chunk
- baseline: `bench.baseline_worker`: per product, select by source id, ORM insert/update, commit

Both receive the same realistic products as webhooks of `--batch` products; the clock runs from the
first POST to the moment every job reads `completed`. Then, with the bulk worker busy on a large job,
it times 1,000-product webhooks one after another (p50/p99). Ratios, not absolute figures, are the
result: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from devstack.servers import LocalPostgres, LocalRedis, free_port
from devstack.stack import ROOT, spawn_api, spawn_worker, stop_process, wait_until_healthy
from services.platform.db import upgrade_database
from tests.support.factories import product

SECRET = "bench-secret"
FINISHED = ("completed", "completed_with_errors", "failed")


@dataclass(frozen=True)
class Run:
    name: str
    products: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.products / self.seconds


def realistic_products(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [product(start + i) for i in range(count)]


class Deployment:
    """One database, one API process and one worker process."""

    def __init__(
        self,
        pg: LocalPostgres,
        redis_url: str,
        name: str,
        worker_module: str,
        args: argparse.Namespace,
        logs: Path,
        root: Path = ROOT,
    ) -> None:
        """`root`: the checkout whose API, worker and migrations run (another commit's worktree, to
        compare before and after in one run)."""
        self.database_url = pg.create_database(name, replace=True)
        if root == ROOT:
            upgrade_database(self.database_url)
        else:  # that checkout's migrations, from its own code
            migrate = "import sys; from services.platform.db import upgrade_database as up; up(sys.argv[1])"
            subprocess.run([sys.executable, "-c", migrate, self.database_url], cwd=root, check=True)
        env = {
            "APP_ENV": "test",
            "EXCHANGE_RATES_URL": "",  # no network here: the configured rates
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis_url,
            "WEBHOOK_SECRET": SECRET,
            "LOG_LEVEL": "WARNING",
            "MAX_BODY_BYTES": str(200 * 1024 * 1024),
            "MAX_PRODUCTS_PER_REQUEST": "100000",
            "IMPORT_CHUNK_SIZE": os.environ.get("IMPORT_CHUNK_SIZE", "500"),
        }
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.api = spawn_api(env, port, (logs / f"{name}-api.log").open("ab"), root=root)
        self.worker = spawn_worker(env, processes=args.processes, threads=args.threads, module=worker_module,
                                   log=(logs / f"{name}-worker.log").open("ab"), root=root)  # fmt: skip
        wait_until_healthy(self.base_url)
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=120,
            headers={"X-Webhook-Secret": SECRET, "Content-Type": "application/json"},
        )

    def post(self, body: bytes) -> tuple[str, float]:
        started = time.perf_counter()
        response = self.client.post("/api/import/webhook", content=body)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return response.json()["job_id"], elapsed

    def wait(self, job_ids: list[str], timeout: float = 1800) -> list[dict[str, Any]]:
        """Poll the jobs one at a time, oldest first, every 50 ms: a client that polls every job all
        the time would take a share of the machine's two cores from the workers it measures."""
        deadline = time.monotonic() + timeout
        finished = []
        for job_id in job_ids:
            while True:
                job = self.client.get(f"/api/import/job/{job_id}", params={"errors_limit": 0}).json()
                if job["status"] in FINISHED:
                    finished.append(job)
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"job {job_id} not finished: {job}")
                time.sleep(0.05)
        return finished

    def import_all(self, bodies: list[bytes], total: int, name: str) -> Run:
        started = time.perf_counter()
        job_ids = [self.post(body)[0] for body in bodies]
        jobs = self.wait(job_ids)
        seconds = time.perf_counter() - started
        assert all(job["status"] == "completed" for job in jobs), [job["status"] for job in jobs]
        assert sum(job["processed_products"] for job in jobs) == total
        return Run(name, total, seconds)

    def close(self) -> None:
        self.client.close()
        stop_process(self.worker)
        stop_process(self.api)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs per design; the median counts")
    parser.add_argument("--latency-requests", type=int, default=60)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    pg = LocalPostgres(work / "pg", free_port(), durable=True)
    redis = LocalRedis(work / "redis", free_port(), durable=False)
    pg.start()
    redis.start()
    # Each run imports products never seen before (a re-import is measured apart).
    runs_bodies = [batches(realistic_products(args.products, start=run * args.products), args.batch)
                   for run in range(args.repeat)]  # fmt: skip
    size = sum(map(len, runs_bodies[0])) / args.products / 1024
    print(f"{args.products} products, {len(runs_bodies[0])} webhooks of {args.batch} "
          f"({size:.1f} KB per product); worker {args.processes} process(es) x {args.threads} threads; "
          f"median of {args.repeat} runs")  # fmt: skip
    results: dict[str, Any] = {"products": args.products, "batch": args.batch, "repeat": args.repeat}
    try:
        for name, module in [("bulk", "workers.main"), ("baseline", "bench.baseline_worker")]:
            if name == "baseline" and args.skip_baseline:
                continue
            deployment = make_deployment(pg, redis, name, module, args, work)
            try:
                rates = [deployment.import_all(bodies, args.products, name).rate for bodies in runs_bodies]
                results[name] = {"rates": rates, "median": statistics.median(rates)}
                print(f"  {name:<9} {statistics.median(rates):7.0f} products/s   (runs: "
                      f"{', '.join(f'{rate:.0f}' for rate in rates)})")  # fmt: skip
                if name == "bulk":
                    again = deployment.import_all(runs_bodies[0], args.products, "bulk re-import")
                    print(f"  re-import {again.rate:7.0f} products/s   (the same products again, unchanged)")
                    results["reimport_rate"] = again.rate
                    results["latency_idle"] = quiet_latency(deployment, args)
                    results["latency_busy"] = webhook_latency(deployment, args)
            finally:
                deployment.close()
        if "baseline" in results:
            results["ratio"] = results["bulk"]["median"] / results["baseline"]["median"]
            print(f"  bulk / baseline: {results['ratio']:.1f}x")
    finally:
        redis.stop()
        pg.stop()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "import_throughput.json").write_text(json.dumps(results, indent=2))


def batches(products: list[dict[str, Any]], size: int) -> list[bytes]:
    return [orjson.dumps({"source": "allegro", "products": products[i : i + size]})
            for i in range(0, len(products), size)]  # fmt: skip


def make_deployment(pg: LocalPostgres, redis: LocalRedis, name: str, module: str, args: argparse.Namespace,
                    logs: Path) -> Deployment:  # fmt: skip
    return Deployment(pg, redis.url.replace("/0", f"/{1 if name == 'bulk' else 2}"), name, module, args, logs)


def latency_summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
    }


def describe(summary: dict[str, float], count: int) -> str:
    return (f"p50 {summary['p50_ms']:.0f} ms, p99 {summary['p99_ms']:.0f} ms, max {summary['max_ms']:.0f} ms "
            f"over {count} requests")  # fmt: skip


def quiet_latency(deployment: Deployment, args: argparse.Namespace) -> dict[str, float]:
    """1,000-product webhooks, each sent once the previous job is done: the worker is idle."""
    body_products = realistic_products(1_000, start=3_000_000)
    latencies = []
    for n in range(args.latency_requests // 2):
        for p in body_products:
            p["source_id"] = f"{p['source_id'][:11]}-q{n}"
        job_id, seconds = deployment.post(orjson.dumps({"source": "allegro", "products": body_products}))
        latencies.append(seconds * 1000)
        deployment.wait([job_id])
    summary = latency_summary(latencies)
    print(f"  webhook of 1,000 products, worker idle: {describe(summary, len(latencies))}")
    return summary


def webhook_latency(deployment: Deployment, args: argparse.Namespace) -> dict[str, float]:
    """1,000-product webhooks, one after another, while the worker is busy with a large job."""
    # Four jobs of 10,000: one body of 40,000 holds more JSON values than the API takes (MAX_JSON_VALUES).
    busy_products = realistic_products(40_000, start=1_000_000)
    busy_jobs = [
        deployment.post(orjson.dumps({"source": "allegro", "products": busy_products[i : i + 10_000]}))[0]
        for i in range(0, len(busy_products), 10_000)
    ]
    busy_job = busy_jobs[0]
    progress = 0.0
    while progress < 0.02:  # the worker is importing it now
        time.sleep(0.05)
        progress = deployment.client.get(f"/api/import/job/{busy_job}", params={"errors_limit": 0}).json()[
            "progress"
        ]
    body_products = realistic_products(1_000, start=2_000_000)
    latencies = []
    for n in range(args.latency_requests):
        for p in body_products:
            p["source_id"] = f"{p['source_id'][:11]}-{n}"
        _, seconds = deployment.post(orjson.dumps({"source": "allegro", "products": body_products}))
        latencies.append(seconds * 1000)
    busy_state = deployment.client.get(f"/api/import/job/{busy_job}", params={"errors_limit": 0}).json()
    summary = {
        **latency_summary(latencies),
        "busy_job_progress_before": progress,
        "busy_job_progress_after": busy_state["progress"],
    }
    during = f"{progress:.0%} → {busy_state['progress']:.0%} done meanwhile"
    print(f"  webhook of 1,000 products while the worker imports 40,000 products (its first job {during}): "
          f"{describe(summary, len(latencies))}")  # fmt: skip
    return summary


if __name__ == "__main__":
    main()

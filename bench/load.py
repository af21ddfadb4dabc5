"""Load held: concurrent webhook senders while the worker processes, for a bounded time.

    .venv/bin/python -m bench.load [--seconds 30] [--senders 8] [--big-every 2] \
        [--workers-processes 1] [--threads 8] [--limited-seconds 10]

Starts its own PostgreSQL (fsync on, as in production) and Redis, then, on a fresh database, the real
API (uvicorn) and one worker (`dramatiq workers.main`) as processes. For `--seconds`, `--senders`
threads (an httpx client each, keep-alive, on loopback) post to /api/import/webhook with the shared
secret and a new Idempotency-Key per request, as an n8n workflow does:

- one sender posts a 1,000-product batch every `--big-every` seconds (right after the previous one
  when that took longer; 0: none);
- the others post 1-product batches back to back (as n8n's default, one request per item).

Every product is new (distinct source ids over all requests), so every one goes through import,
normalize, price and score on the default marketplaces (amazon_de, ebay_de, kaufland_de). Each
request's latency and status are recorded, by batch size. After the window the benchmark waits
(at most `--drain-timeout` seconds) until every accepted job is finished, then checks from the
database that every accepted product reached the end: as many products as accepted, every item done
at the score stage, none failed, one price decision per product and marketplace, and asks the API
(GET /api/import/job/{id} with the bootstrap key) about the big jobs and a sample of small ones.

The first configuration runs with the rate limits off (RATE_LIMIT_ENABLED=false), so that the load is
the pipeline's, not the limiter's. A second, short one (`--limited-seconds`, 0 to skip) runs the same
senders against a fresh deployment with the rate limits on at their defaults, and counts the 429s:
all the senders share one address, so the webhook's per-address budget holds them all.

Prints a table and writes bench/results/load.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from limits import parse_many
from sqlalchemy import Engine, create_engine, text

from bench.import_throughput import percentile
from devstack.servers import LocalPostgres, LocalRedis, free_port
from devstack.stack import spawn_api, spawn_worker, stop_process, wait_until_healthy
from services.platform.db import upgrade_database
from services.platform.settings import Settings
from tests.support.factories import product

SECRET = "bench-load-secret"
API_KEY = "bench-load-api-key-0123456789abcdef"  # the bootstrap key (write scope)
WEBHOOK = "/api/import/webhook"
MARKETPLACES = 3  # the default ones: amazon_de, ebay_de, kaufland_de
FINISHED = ("completed", "completed_with_errors", "failed")
SMALL, BIG = 1, 1_000
# Source ids start here (tests.support.factories.product adds it to 13,000,000,000): clear of other benches.
FIRST_INDEX = 50_000_000


@dataclass(frozen=True, slots=True)
class Sample:
    """One request as the sender saw it."""

    size: int  # products in the body
    started: float  # perf_counter
    seconds: float
    status: int | None  # None: no answer (an exception)
    error: str | None = None
    job_id: str | None = None
    received: int = 0
    created: bool = False
    retry_after: str | None = None


class Ids:
    """Distinct product indexes across every sender (and both configurations)."""

    def __init__(self, first: int) -> None:
        self._next = first
        self._lock = threading.Lock()

    def take(self, count: int) -> int:
        with self._lock:
            first = self._next
            self._next += count
            return first


def body(first: int, count: int) -> bytes:
    return orjson.dumps({"source": "allegro", "products": [product(first + i) for i in range(count)]})


@dataclass
class Deployment:
    """A fresh database, the API and one worker process (dramatiq's main process and its workers)."""

    pg: LocalPostgres
    redis_url: str
    name: str
    env_extra: dict[str, str]
    args: argparse.Namespace
    logs: Path
    database_url: str = ""
    base_url: str = ""
    engine: Engine | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> None:
        self.database_url = self.pg.create_database(self.name, replace=True)
        upgrade_database(self.database_url)
        env = {
            "APP_ENV": "test",
            "EXCHANGE_RATES_URL": "",  # no network here: the configured rates
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "WEBHOOK_SECRET": SECRET,
            "API_KEY": API_KEY,
            "GROQ_API_KEY": "",  # the deterministic copy: no model in a load run
            "LOG_LEVEL": "WARNING",
            "IMPORT_CHUNK_SIZE": os.environ.get("IMPORT_CHUNK_SIZE", "500"),
            **self.env_extra,
        }
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        api_log = (self.logs / f"{self.name}-api.log").open("ab")
        worker_log = (self.logs / f"{self.name}-worker.log").open("ab")
        self.processes.append(spawn_api(env, port, api_log))
        self.processes.append(
            spawn_worker(
                env, processes=self.args.workers_processes, threads=self.args.threads, log=worker_log
            )
        )
        wait_until_healthy(self.base_url)
        self.engine = create_engine(self.database_url, pool_size=2)

    @property
    def db(self) -> Engine:
        assert self.engine is not None
        return self.engine

    def close(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)
        self.processes.clear()
        if self.engine is not None:
            self.engine.dispose()

    def unfinished_jobs(self) -> int:
        with self.db.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM import_jobs WHERE status <> ALL(:finished)"),
                    {"finished": list(FINISHED)},
                ).scalar_one()
            )

    def done_items(self) -> int:
        with self.db.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM job_items WHERE stage = 'score' AND status = 'done'")
                ).scalar_one()
            )

    def imported_items(self) -> int:
        with self.db.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM job_items")).scalar_one())

    def job_times(self, exclude: str | None) -> dict[str, dict[str, float]]:
        """Per batch size, seconds from a job's 202 to its first message running and to `completed`."""
        query = text(
            """
            SELECT total_products, count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)),
                   max(extract(epoch FROM completed_at - created_at)),
                   max(extract(epoch FROM started_at - created_at)),
                   count(*) FILTER (WHERE started_at - created_at > make_interval(secs => :sweep))
            FROM import_jobs WHERE id::text <> :exclude GROUP BY total_products ORDER BY total_products
            """
        )
        sweep = float(Settings.model_fields["sweep_pending_after_seconds"].default)
        with self.db.connect() as connection:
            rows = connection.execute(query, {"exclude": exclude or "", "sweep": sweep}).all()
        return {
            str(size): {
                "jobs": jobs,
                "completed_p50_s": float(p50),
                "completed_max_s": float(most),
                "started_max_s": float(started),
                "pending_past_sweep_threshold": pending,
            }
            for size, jobs, p50, most, started, pending in rows
        }

    def wait_finished(self, timeout: float) -> float | None:
        """Seconds until no job is left unfinished (polling the database every 0.25 s); None: timed out."""
        started = time.perf_counter()
        while self.unfinished_jobs():
            if time.perf_counter() - started > timeout:
                return None
            time.sleep(0.25)
        return time.perf_counter() - started


def warm_up(deployment: Deployment, ids: Ids) -> Sample:
    """One 1-product job through every stage before the clock starts: the API and worker are ready."""
    started = time.perf_counter()
    response = httpx.post(
        deployment.base_url + WEBHOOK, content=body(ids.take(1), 1), headers=headers(), timeout=60
    )
    response.raise_for_status()
    if deployment.wait_finished(60) is None:
        raise TimeoutError("the warm-up job did not finish in 60 s")
    answer = response.json()
    return Sample(
        SMALL,
        started,
        time.perf_counter() - started,
        response.status_code,
        job_id=answer["job_id"],
        received=answer["received"],
        created=answer["created"],
    )


def headers() -> dict[str, str]:
    return {
        "X-Webhook-Secret": SECRET,
        "Content-Type": "application/json",
        "Idempotency-Key": f"load-{uuid.uuid4()}",
    }


def post(client: httpx.Client, size: int, content: bytes) -> Sample:
    started = time.perf_counter()
    try:
        response = client.post(WEBHOOK, content=content, headers=headers())
    except httpx.HTTPError as exc:
        return Sample(size, started, time.perf_counter() - started, None, error=type(exc).__name__)
    seconds = time.perf_counter() - started
    if response.status_code != 202:
        return Sample(
            size,
            started,
            seconds,
            response.status_code,
            error=response.text[:200],
            retry_after=response.headers.get("retry-after"),
        )
    answer = response.json()
    return Sample(
        size,
        started,
        seconds,
        202,
        job_id=answer["job_id"],
        received=answer["received"],
        created=answer["created"],
    )


@dataclass(frozen=True)
class Window:
    samples: list[Sample]
    started: float  # perf_counter when the first request could go
    ended: float  # perf_counter when the last answer came (the senders stop starting at the deadline)

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def send_load(base_url: str, seconds: float, senders: int, big_every: float, ids: Ids) -> Window:
    """`senders` threads for `seconds`: one posts a 1,000-product batch every `big_every` seconds (if
    `big_every` > 0), the others 1-product batches back to back. The big bodies are built beforehand,
    so that building them takes no time from the other senders inside the window."""
    big_bodies = []
    if big_every > 0:
        big_bodies = [body(ids.take(BIG), BIG) for _ in range(math.ceil(seconds / big_every))]
    samples: list[Sample] = []
    start = threading.Barrier(senders + 1)
    t0 = 0.0

    def small_sender() -> None:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            start.wait()
            while time.perf_counter() < t0 + seconds:
                samples.append(post(client, SMALL, body(ids.take(1), 1)))

    def big_sender() -> None:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            start.wait()
            for number, content in enumerate(big_bodies):
                due = t0 + number * big_every
                if due >= t0 + seconds:
                    break
                time.sleep(max(0.0, due - time.perf_counter()))
                samples.append(post(client, BIG, content))

    targets = [big_sender] if big_bodies else []
    targets += [small_sender] * (senders - len(targets))
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    t0 = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    ended = max((s.started + s.seconds for s in samples), default=t0)
    return Window(samples, t0, max(ended, t0 + seconds))


def latency(samples: list[Sample]) -> dict[str, float]:
    values = [s.seconds * 1000 for s in samples]
    if not values:
        return {}
    return {
        "p50_ms": statistics.median(values),
        "p95_ms": percentile(values, 0.95),
        "p99_ms": percentile(values, 0.99),
        "max_ms": max(values),
    }


def by_size(window: Window) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for size in (SMALL, BIG):
        samples = [s for s in window.samples if s.size == size]
        if not samples:
            continue
        accepted = [s for s in samples if s.status == 202]
        result[str(size)] = {
            "requests": len(samples),
            "accepted": len(accepted),
            "products_accepted": sum(s.received for s in accepted),
            "requests_per_s": len(samples) / window.seconds,
            "products_per_s": sum(s.received for s in accepted) / window.seconds,
            "latency": latency(samples),
            "latency_202": latency(accepted),
            "latency_429": latency([s for s in samples if s.status == 429]),
            "statuses": dict(Counter(str(s.status) if s.status else s.error or "error" for s in samples)),
            "retry_after_on_429": sum(1 for s in samples if s.status == 429 and s.retry_after),
            "not_created": sum(1 for s in accepted if not s.created),
        }
    return result


def check_database(deployment: Deployment, jobs: int, products: int) -> dict[str, dict[str, Any]]:
    """Every accepted product reached the end, once: counts from the database against the 202s."""
    queries = {
        "jobs": "SELECT count(*) FROM import_jobs",
        "jobs completed": "SELECT count(*) FROM import_jobs WHERE status = 'completed'",
        "products": "SELECT count(*) FROM products",
        "products scored": "SELECT count(*) FROM products WHERE status = 'scored'",
        "job items": "SELECT count(*) FROM job_items",
        "items done at score": "SELECT count(*) FROM job_items WHERE stage = 'score' AND status = 'done'",
        "items failed": "SELECT count(*) FROM job_items WHERE status = 'failed'",
        "listings priced and scored": "SELECT count(*) FROM product_listings"
        " WHERE quality_score IS NOT NULL AND price_status IS NOT NULL",
        "pricing_data rows": "SELECT count(*) FROM pricing_data",
        "duplicate price decisions": "SELECT count(*) FROM (SELECT 1 FROM pricing_data"
        " GROUP BY product_id, marketplace HAVING count(*) > 1) AS d",
        "duplicate source ids": "SELECT count(*) FROM (SELECT 1 FROM products"
        " GROUP BY source_platform, source_id HAVING count(*) > 1) AS d",
    }
    expected = {
        "jobs": jobs,
        "jobs completed": jobs,
        "products": products,
        "products scored": products,
        "job items": products,
        "items done at score": products,
        "items failed": 0,
        "listings priced and scored": products * MARKETPLACES,
        "pricing_data rows": products * MARKETPLACES,
        "duplicate price decisions": 0,
        "duplicate source ids": 0,
    }
    checks: dict[str, dict[str, Any]] = {}
    with deployment.db.connect() as connection:
        for name, query in queries.items():
            found = int(connection.execute(text(query)).scalar_one())
            checks[name] = {"found": found, "expected": expected[name], "ok": found == expected[name]}
    return checks


def check_api(deployment: Deployment, accepted: list[Sample], sample: int = 20) -> dict[str, Any]:
    """GET /api/import/job/{id} with the bootstrap key, for every big job and `sample` small ones."""
    big = [s for s in accepted if s.size == BIG]
    small = [s for s in accepted if s.size == SMALL]
    asked = big + random.Random(5).sample(small, min(sample, len(small)))
    wrong = []
    with httpx.Client(
        base_url=deployment.base_url, timeout=30, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as client:
        for s in asked:
            job = client.get(f"/api/import/job/{s.job_id}", params={"errors_limit": 0}).json()
            if (job.get("status"), job.get("processed_products"), job.get("failed_products")) != (
                "completed",
                s.received,
                0,
            ):
                wrong.append({"job_id": s.job_id, "status": job.get("status"), "detail": job.get("detail")})
    return {"jobs_asked": len(asked), "wrong": wrong, "ok": not wrong}


def run(deployment: Deployment, args: argparse.Namespace, ids: Ids, seconds: float) -> dict[str, Any]:
    deployment.start()
    try:
        warm = warm_up(deployment, ids)
        window = send_load(deployment.base_url, seconds, args.senders, args.big_every, ids)
        imported_in_window = deployment.imported_items() - warm.received
        done_in_window = deployment.done_items() - warm.received
        drain = deployment.wait_finished(args.drain_timeout)
        all_done = time.perf_counter()
        accepted = [s for s in window.samples if s.status == 202]
        jobs = len(accepted) + 1
        products = sum(s.received for s in accepted) + warm.received
        checks = check_database(deployment, jobs, products)
        api_check = check_api(deployment, accepted)
        errors = [s for s in window.samples if s.status != 202]
        end_to_end = all_done - window.started
        return {
            "seconds": window.seconds,
            "senders": args.senders,
            "big_every": args.big_every,
            "requests": len(window.samples),
            "requests_per_s": len(window.samples) / window.seconds,
            "accepted_requests": len(accepted),
            "accepted_products": products - warm.received,
            "products_per_s_accepted": (products - warm.received) / window.seconds,
            "by_size": by_size(window),
            "non_202": dict(Counter(str(s.status) if s.status else s.error or "error" for s in errors)),
            "exceptions": sum(1 for s in errors if s.status is None),
            "imported_in_window": imported_in_window,
            "processed_in_window": done_in_window,
            "processed_per_s_in_window": done_in_window / window.seconds,
            "drain_seconds": drain,
            "end_to_end_seconds": end_to_end if drain is not None else None,
            "products_per_s_end_to_end": (products - warm.received) / end_to_end
            if drain is not None
            else None,
            "job_times": deployment.job_times(warm.job_id),
            "checks": checks,
            "api_check": api_check,
            "all_checks_ok": drain is not None and api_check["ok"] and all(c["ok"] for c in checks.values()),
        }
    finally:
        deployment.close()


def ms(summary: dict[str, float], key: str) -> str:
    return f"{summary[key]:.0f}" if key in summary else "-"


def report(name: str, result: dict[str, Any]) -> None:
    print(
        f"\n{name}: {result['seconds']:.1f} s window, {result['senders']} senders "
        f"({result['requests']} requests, {result['requests_per_s']:.0f}/s)"
    )
    print(
        f"  {'batch':>6} {'requests':>9} {'req/s':>7} {'202':>7} {'products/s':>11} "
        f"{'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}  statuses"
    )
    for size, row in result["by_size"].items():
        lat = row["latency"]
        print(
            f"  {size:>6} {row['requests']:>9} {row['requests_per_s']:>7.1f} {row['accepted']:>7} "
            f"{row['products_per_s']:>11.0f} {ms(lat, 'p50_ms'):>6} {ms(lat, 'p95_ms'):>6} "
            f"{ms(lat, 'p99_ms'):>6} {ms(lat, 'max_ms'):>6}  {row['statuses']}"
        )
    print(
        f"  accepted {result['accepted_products']} products ({result['products_per_s_accepted']:.0f}/s); "
        f"non-202: {result['non_202'] or 'none'}; exceptions: {result['exceptions']}"
    )
    print(
        f"  during the window: {result['imported_in_window']} products imported, "
        f"{result['processed_in_window']} through every stage ({result['processed_per_s_in_window']:.0f}/s)"
    )
    if result["drain_seconds"] is None:
        print("  NOT every job finished before the drain timeout")
    else:
        print(
            f"  every job finished {result['drain_seconds']:.1f} s after the window; end to end "
            f"{result['products_per_s_end_to_end']:.0f} products/s ({result['end_to_end_seconds']:.1f} s)"
        )
    failed = {name: c for name, c in result["checks"].items() if not c["ok"]}
    print(
        f"  database checks: {len(result['checks']) - len(failed)} of {len(result['checks'])} ok"
        + (f"; FAILED: {failed}" if failed else "")
    )
    for size, times in result["job_times"].items():
        print(
            f"  {size}-product jobs, 202 to completed: p50 {times['completed_p50_s']:.1f} s, "
            f"max {times['completed_max_s']:.1f} s (longest wait for the first message "
            f"{times['started_max_s']:.1f} s)"
        )
    api = result["api_check"]
    print(
        f"  API job status: {api['jobs_asked']} jobs asked, "
        + ("all completed" if api["ok"] else f"WRONG: {api['wrong']}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30, help="the sending window")
    parser.add_argument("--senders", type=int, default=8, help="concurrent senders, the big one included")
    parser.add_argument(
        "--big-every",
        type=float,
        default=2.0,
        help="seconds between 1,000-product batches (one dedicated sender); 0: none",
    )
    parser.add_argument("--workers-processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=300,
        help="at most this long after the window for every job to finish",
    )
    parser.add_argument(
        "--limited-seconds",
        type=float,
        default=10,
        help="window of the run with the rate limits on at their defaults; 0: skip it",
    )
    args = parser.parse_args()
    if args.senders < (2 if args.big_every > 0 else 1):
        parser.error("--senders must leave at least one 1-product sender")

    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    pg = LocalPostgres(work / "pg", free_port(), durable=True)
    redis = LocalRedis(work / "redis", free_port(), durable=False)
    pg.start()
    redis.start()
    ids = Ids(FIRST_INDEX)
    defaults = Settings.model_fields
    webhook_limit = str(defaults["rate_limit_webhook"].default)
    api_limit = str(defaults["rate_limit_api"].default)
    big = f"one of 1,000-product batches every {args.big_every:g} s, " if args.big_every else ""
    print(
        f"{args.senders} senders ({big}the rest 1-product batches back to back); "
        f"worker {args.workers_processes} process(es) x "
        f"{args.threads} threads; {os.cpu_count()} cores; logs in {work}"
    )
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "args": vars(args),
    }
    try:
        unlimited = Deployment(
            pg, redis.url.replace("/0", "/1"), "load", {"RATE_LIMIT_ENABLED": "false"}, args, work
        )
        results["rate_limits_off"] = run(unlimited, args, ids, args.seconds)
        report("rate limits off", results["rate_limits_off"])
        if args.limited_seconds > 0:
            env = {
                "RATE_LIMIT_ENABLED": "true",
                "RATE_LIMIT_WEBHOOK": webhook_limit,
                "RATE_LIMIT_API": api_limit,
            }
            limited = Deployment(pg, redis.url.replace("/0", "/2"), "load_limited", env, args, work)
            result = run(limited, args, ids, args.limited_seconds)
            # The warm-up request counted too; within the limit's first period the webhook can take no
            # more than its amount from one address.
            bound = min(
                item.amount * math.ceil((result["seconds"] + 1) / item.get_expiry())
                for item in parse_many(webhook_limit)
            )
            statuses = Counter[str]()
            for row in result["by_size"].values():
                statuses.update(row["statuses"])
            result["rate_limit"] = {
                "webhook_limit": webhook_limit,
                "accepted_with_warm_up": result["accepted_requests"] + 1,
                "bound": bound,
                "held": result["accepted_requests"] + 1 <= bound,
                "429": statuses.get("429", 0),
                "429_with_retry_after": sum(row["retry_after_on_429"] for row in result["by_size"].values()),
                "other_errors": sum(n for status, n in statuses.items() if status not in ("202", "429")),
            }
            results["rate_limits_on"] = result
            report(f"rate limits on ({webhook_limit} per address for the webhook)", result)
            rl = result["rate_limit"]
            print(
                f"  limit: {rl['accepted_with_warm_up']} accepted (bound {rl['bound']}: "
                f"{'held' if rl['held'] else 'NOT held'}), {rl['429']} answered 429 "
                f"({rl['429_with_retry_after']} with Retry-After), {rl['other_errors']} other errors"
            )
    finally:
        redis.stop()
        pg.stop()
    results["total_seconds"] = time.perf_counter() - began
    print(f"\nwhole run: {results['total_seconds']:.0f} s")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "load.json").write_text(json.dumps(results, indent=2))
    ok = results["rate_limits_off"]["all_checks_ok"] and not results["rate_limits_off"]["non_202"]
    if "rate_limits_on" in results:
        limited_result = results["rate_limits_on"]
        ok = ok and limited_result["all_checks_ok"] and limited_result["rate_limit"]["held"]
        ok = ok and limited_result["rate_limit"]["other_errors"] == 0
    if not ok:
        raise SystemExit("load: a check failed (see above)")


if __name__ == "__main__":
    main()

"""`listing-pipeline`: run the whole product locally, or apply migrations.

listing-pipeline dev       local Postgres + Redis, migrations, the API and a worker, a sample import
listing-pipeline migrate   alembic upgrade head on DATABASE_URL
listing-pipeline servers   only the local Postgres and Redis, printing their URLs
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from services.local_servers import LocalPostgres, LocalRedis
from services.local_stack import (
    ROOT,
    spawn_api,
    spawn_worker,
    stop_process,
    upgrade_database,
    wait_until_healthy,
)

SAMPLE = ROOT / "samples" / "allegro_batch.json"
FINISHED = ("completed", "completed_with_errors", "failed")


class LocalServers:
    """Postgres and Redis in `.local/`, kept between runs (your data survives a restart)."""

    def __init__(self, data_dir: Path, pg_port: int, redis_port: int) -> None:
        self.postgres = LocalPostgres(data_dir / "postgres", pg_port)
        self.redis = LocalRedis(data_dir / "redis", redis_port)

    def __enter__(self) -> LocalServers:
        print(
            f"starting PostgreSQL on 127.0.0.1:{self.postgres.port} and Redis on 127.0.0.1:{self.redis.port}"
        )
        self.postgres.start()
        try:
            self.redis.start()
        except BaseException:
            self.postgres.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.redis.stop()
        self.postgres.stop()


def _local_env(servers: LocalServers) -> dict[str, str]:
    database_url = servers.postgres.create_database("listing")
    return {"DATABASE_URL": database_url, "REDIS_URL": servers.redis.url}


def sample_products(size: int) -> list[dict[str, Any]]:
    """The sample batch, repeated with fresh ids up to `size` products."""
    sample: list[dict[str, Any]] = json.loads(SAMPLE.read_text())
    products = []
    for n in range(size):
        product = dict(sample[n % len(sample)])
        if n >= len(sample) and isinstance(product.get("source_id"), str):
            product["source_id"] = f"{product['source_id']}-{n // len(sample)}"
        products.append(product)
    return products


def watch_sample_import(base_url: str, secret: str, size: int) -> None:
    body = {
        "source": "allegro",
        "options": {"marketplaces": ["amazon_de", "ebay_de"]},
        "products": sample_products(size),
    }
    response = httpx.post(
        f"{base_url}/api/import/webhook", json=body, headers={"X-Webhook-Secret": secret}, timeout=60
    )
    response.raise_for_status()
    accepted = response.json()
    print(f"\nPOST /api/import/webhook -> {response.status_code} {json.dumps(accepted)}")
    job: dict[str, Any] = {}
    while job.get("status") not in FINISHED:
        time.sleep(0.3)
        job = httpx.get(base_url + accepted["status_url"], timeout=10).json()
        print(
            f"  job {job['status']:<22} progress {job['progress']:>6.1%}  stages {json.dumps(job['stages'])}"
        )
    keys = ("status", "total_products", "processed_products", "failed_products", "outcomes", "stages",
            "analysis", "created_at", "completed_at")  # fmt: skip
    summary = {key: job[key] for key in keys}
    summary["errors (first 5)"] = job["errors"][:5]
    print(f"\nGET {accepted['status_url']} (abridged):\n{json.dumps(summary, indent=2, ensure_ascii=False)}")
    _show_one_product(base_url, accepted["job_id"])


def _show_one_product(base_url: str, job_id: str) -> None:
    """One product of the sample, as the explain endpoint tells its story."""
    page = httpx.get(f"{base_url}/api/products", params={"job_id": job_id, "page_size": 1}, timeout=10).json()
    if not page["items"]:
        return
    product_id = page["items"][0]["id"]
    explained = httpx.get(f"{base_url}/api/products/{product_id}/explain", timeout=10).json()
    print(f"\nGET /api/products/{product_id}/explain (abridged):")
    print(f"  scraped title:    {explained['original_title']}")
    for marketplace, result in explained["marketplaces"].items():
        listing, price, quality = result["listing"], result["price"] or {}, result["quality"] or {}
        print(f"  {marketplace:<12} title: {listing['title']}")
        print(f"  {'':<12} price: {listing['price']} {listing['currency']} ({listing['price_status']})"
              f" because {price.get('summary', '-')}")  # fmt: skip
        fixes = "; ".join(quality.get("fixes", [])[:3]) or "none"
        print(f"  {'':<12} quality {listing['quality_score']} ({listing['grade']}),"
              f" rules: {listing['evaluation']}; fixes: {fixes}")  # fmt: skip


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_for_ctrl_c() -> None:
    while True:
        time.sleep(3600)


def dev(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    with LocalServers(data_dir, args.pg_port, args.redis_port) as servers:
        env = {
            **_local_env(servers),
            "APP_ENV": "development",
            "WEBHOOK_SECRET": os.environ.get("WEBHOOK_SECRET", "dev-secret"),
        }
        upgrade_database(env["DATABASE_URL"])
        logs = data_dir / "logs"
        logs.mkdir(exist_ok=True)
        api = spawn_api(env, args.port, (logs / "api.log").open("ab"))
        worker = spawn_worker(
            env, processes=args.processes, threads=args.threads, log=(logs / "worker.log").open("ab")
        )
        try:
            base_url = f"http://127.0.0.1:{args.port}"
            wait_until_healthy(base_url)
            print(f"API on {base_url} (docs: {base_url}/docs), a worker running; logs in {logs}/")
            print("Ctrl-C stops everything.")
            if args.sample:
                watch_sample_import(base_url, env["WEBHOOK_SECRET"], args.sample)
            print(
                f"\nTry: curl -s -X POST {base_url}/api/import/webhook -H 'Content-Type: application/json' "
                f"-H 'X-Webhook-Secret: {env['WEBHOOK_SECRET']}' -d @samples/allegro_batch.json"
            )
            if not args.exit_after_sample:
                _wait_for_ctrl_c()
        except KeyboardInterrupt:
            pass
        finally:
            print("\nstopping...")
            stop_process(worker)
            stop_process(api)
    return 0


def servers(args: argparse.Namespace) -> int:
    with LocalServers(Path(args.data_dir).resolve(), args.pg_port, args.redis_port) as local:
        env = _local_env(local)
        upgrade_database(env["DATABASE_URL"])
        for key, value in env.items():
            print(f"export {key}={value}")
        print("# Ctrl-C stops both servers.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            _wait_for_ctrl_c()
    return 0


def migrate(args: argparse.Namespace) -> int:
    from services.settings import get_settings

    upgrade_database(get_settings().database_url)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="listing-pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)

    local = argparse.ArgumentParser(add_help=False)
    local.add_argument(
        "--data-dir", default=str(ROOT / ".local"), help="where the local servers keep their data"
    )
    local.add_argument("--pg-port", type=int, default=54329)
    local.add_argument("--redis-port", type=int, default=63799)

    run = commands.add_parser("dev", parents=[local], help="run everything locally with a sample import")
    run.add_argument("--port", type=int, default=8000, help="the API's port")
    run.add_argument("--processes", type=int, default=1, help="worker processes")
    run.add_argument("--threads", type=int, default=4, help="threads per worker process")
    run.add_argument(
        "--sample", type=int, default=500, metavar="N", help="products in the sample import (0: none)"
    )
    run.add_argument("--exit-after-sample", action="store_true", help="stop once the sample import is done")
    run.set_defaults(handler=dev)

    commands.add_parser("servers", parents=[local], help="only the local Postgres and Redis").set_defaults(
        handler=servers
    )
    commands.add_parser("migrate", help="alembic upgrade head on DATABASE_URL").set_defaults(handler=migrate)

    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on `kill` as on Ctrl-C
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

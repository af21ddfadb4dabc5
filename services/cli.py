"""`listing-pipeline`: run the whole product locally, apply migrations, manage API keys.

listing-pipeline dev       local Postgres + Redis, migrations, the API and a worker, a sample import
listing-pipeline migrate   alembic upgrade head on DATABASE_URL
listing-pipeline servers   only the local Postgres and Redis, printing their URLs
listing-pipeline api-keys create --name NAME --scope read|write   prints the new key, once
listing-pipeline api-keys list                                    keys, by prefix (never the keys)
listing-pipeline api-keys revoke ID|PREFIX                        refused from then on
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from services import api_keys
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


def watch_sample_import(base_url: str, secret: str, api_key: str, size: int) -> None:
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
        # The job also takes the webhook's secret: the credential that posted it may poll it.
        job = httpx.get(
            base_url + accepted["status_url"], headers={"X-Webhook-Secret": secret}, timeout=10
        ).json()
        print(
            f"  job {job['status']:<22} progress {job['progress']:>6.1%}  stages {json.dumps(job['stages'])}"
        )
    keys = ("status", "total_products", "processed_products", "failed_products", "outcomes", "stages",
            "analysis", "created_at", "completed_at")  # fmt: skip
    summary = {key: job[key] for key in keys}
    summary["errors (first 5)"] = job["errors"][:5]
    print(f"\nGET {accepted['status_url']} (abridged):\n{json.dumps(summary, indent=2, ensure_ascii=False)}")
    _show_one_product(base_url, api_key, accepted["job_id"])


def _show_one_product(base_url: str, api_key: str, job_id: str) -> None:
    """One product of the sample, as the explain endpoint tells its story."""
    client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
    with client:
        page = client.get("/api/products", params={"job_id": job_id, "page_size": 1}).json()
        if not page["items"]:
            return
        product_id = page["items"][0]["id"]
        explained = client.get(f"/api/products/{product_id}/explain").json()
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
            # The bootstrap key (write scope): for this local run, and for you to try the API with.
            "API_KEY": os.environ.get("API_KEY", "dev-api-key"),
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
            print(f"API key (API_KEY, write scope): {env['API_KEY']}")
            print("Ctrl-C stops everything.")
            if args.sample:
                watch_sample_import(base_url, env["WEBHOOK_SECRET"], env["API_KEY"], args.sample)
            print(
                f"\nTry: curl -s -X POST {base_url}/api/import/webhook -H 'Content-Type: application/json' "
                f"-H 'X-Webhook-Secret: {env['WEBHOOK_SECRET']}' -d @samples/allegro_batch.json"
                f"\n     curl -s {base_url}/api/products/stats/summary"
                f" -H 'Authorization: Bearer {env['API_KEY']}'"
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


def open_session() -> Session:
    """A session on DATABASE_URL."""
    from models.db import get_sessionmaker

    return get_sessionmaker()()


def _start_logging() -> None:
    # Log lines to stderr, so that stdout carries only what the command prints (a new key).
    from services.logging import configure_logging
    from services.settings import get_settings

    configure_logging(get_settings())


def create_api_key(args: argparse.Namespace) -> int:
    _start_logging()
    with open_session() as session:
        try:
            created = api_keys.create_key(session, args.name, api_keys.Scope(args.scope))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        session.commit()
        row = created.row
        print(f"Created API key {row.prefix} ({row.id}): {row.name!r}, {row.scope} scope.")
    print("The key is shown this once (only its hash is stored); keep it in a secret store:")
    print(created.key)
    return 0


def list_api_keys(args: argparse.Namespace) -> int:
    with open_session() as session:
        rows = api_keys.list_keys(session)
    if not rows:
        print("No API keys (the bootstrap API_KEY of the settings is not stored).")
        return 0
    print(f"{'prefix':<13} {'scope':<6} {'name':<24} {'created':<17} {'last used':<17} {'revoked':<17} id")
    for row in rows:
        print(f"{row.prefix:<13} {row.scope:<6} {row.name[:24]:<24} {_when(row.created_at):<17} "
              f"{_when(row.last_used_at):<17} {_when(row.revoked_at):<17} {row.id}")  # fmt: skip
    return 0


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ") if moment else "-"


def revoke_api_key(args: argparse.Namespace) -> int:
    _start_logging()
    with open_session() as session:
        try:
            row = api_keys.resolve(session, args.key)
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if not api_keys.revoke(session, row):
            print(f"API key {row.prefix} ({row.name!r}) was already revoked at {_when(row.revoked_at)}.")
            return 0
        session.commit()
    print(f"Revoked API key {row.prefix} ({row.name!r}): it is refused from now on.")
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

    keys = commands.add_parser("api-keys", help="create, list and revoke API keys (on DATABASE_URL)")
    key_commands = keys.add_subparsers(dest="key_command", required=True)
    create = key_commands.add_parser("create", help="create a key and print it, once")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument("--scope", required=True, choices=[scope.value for scope in api_keys.Scope],
                        help="read: the GET routes; write: everything")  # fmt: skip
    create.set_defaults(handler=create_api_key)
    key_commands.add_parser("list", help="every key: prefix, scope, name, last use").set_defaults(
        handler=list_api_keys
    )
    revoke = key_commands.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("key", help="the key's id or prefix (as `list` shows them)")
    revoke.set_defaults(handler=revoke_api_key)

    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on `kill` as on Ctrl-C
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

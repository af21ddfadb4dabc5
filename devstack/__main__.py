"""`python -m devstack` (what `scripts/dev` runs): the whole product on this machine.

python -m devstack            local Postgres + Redis, migrations, the API and a worker, a sample import
python -m devstack servers    only the local Postgres and Redis, printing their URLs

A tool for people and tests, outside the production package: a deployed web or worker process never
imports `devstack` (pyproject's packages leave it out).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from devstack.sample import watch_sample_import
from devstack.servers import LocalPostgres, LocalRedis
from devstack.stack import ROOT, spawn_api, spawn_worker, stop_process, wait_until_healthy
from services.platform.db import upgrade_database


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("command", nargs="?", choices=["dev", "servers"], default="dev",
                        help="dev (the default): everything; servers: only PostgreSQL and Redis")  # fmt: skip
    parser.add_argument(
        "--data-dir", default=str(ROOT / ".local"), help="where the local servers keep their data"
    )
    parser.add_argument("--pg-port", type=int, default=54329)
    parser.add_argument("--redis-port", type=int, default=63799)
    parser.add_argument("--port", type=int, default=8000, help="the API's port")
    parser.add_argument("--processes", type=int, default=1, help="worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument(
        "--sample", type=int, default=500, metavar="N", help="products in the sample import (0: none)"
    )
    parser.add_argument(
        "--exit-after-sample", action="store_true", help="stop once the sample import is done"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on `kill` as on Ctrl-C
    return dev(args) if args.command == "dev" else servers(args)


if __name__ == "__main__":
    sys.exit(main())

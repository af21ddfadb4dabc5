"""`listing-pipeline`: the operator's command line (platform). Apply migrations, manage API keys, and
(over HTTP, against a local API or a deployment) import products and read jobs, products and prices.

On DATABASE_URL:
listing-pipeline migrate   alembic upgrade head on DATABASE_URL
listing-pipeline api-keys create --name NAME --scope read|write   prints the new key, once
listing-pipeline api-keys list                                    keys, by prefix (never the keys)
listing-pipeline api-keys revoke ID|PREFIX                        refused from then on

On the API (--api-url / LISTING_API_URL, --api-key / LISTING_API_KEY; `listing-pipeline COMMAND --help`):
listing-pipeline import FILE|URL [--source S] [--marketplaces M,M] [--publish/--preview] [--no-follow]
listing-pipeline job ID [--follow]
listing-pipeline jobs [--status S] [--limit N]
listing-pipeline products [--grade G] [--marketplace M] [--publishable/--not-publishable] [--limit N]
listing-pipeline price-history ID [--marketplace M]
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime

from sqlalchemy.orm import Session

# The command line is the platform's entry point, like api/app.py and workers/main.py for their
# processes: the one module of the platform that reaches into a domain, to run its commands.
from services.access import api_keys
from services.platform.db import get_sessionmaker, upgrade_database
from services.platform.logging import configure_logging
from services.platform.settings import get_settings


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def migrate(args: argparse.Namespace) -> int:
    upgrade_database(get_settings().database_url)
    return 0


def open_session() -> Session:
    """A session on DATABASE_URL."""
    return get_sessionmaker()()


def _start_logging() -> None:
    # Log lines to stderr, so that stdout carries only what the command prints (a new key).
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


# The API's client commands (services.platform.cli_client, typer): they talk HTTP only.
CLIENT_COMMANDS = {
    "import": "import a .csv/.xlsx/.json file or URL, then follow the job",
    "job": "a job's progress and summary",
    "jobs": "recent import jobs",
    "products": "products and their listings",
    "price-history": "a product's price decisions",
}


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments and arguments[0] in CLIENT_COMMANDS:
        from services.platform import cli_client  # typer, rich and httpx: only for these commands

        signal.signal(signal.SIGTERM, _interrupt)
        return cli_client.run(list(arguments))
    parser = argparse.ArgumentParser(prog="listing-pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)

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
    for name, summary in CLIENT_COMMANDS.items():  # listed in --help; run by cli_client above
        commands.add_parser(name, help=f"{summary} (over HTTP; `{name} --help`)", add_help=False)

    args = parser.parse_args(arguments)
    signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on `kill` as on Ctrl-C
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

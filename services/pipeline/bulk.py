"""Bulk writes for the stages: rows are COPYed into a temporary table, then merged in one statement.

COPY formats rows in C; a merge from the temporary table is one statement for the whole chunk. The
temporary tables live for the connection and are emptied at each commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from psycopg import Cursor


def json_text(value: Any) -> str:
    """A jsonb value as COPY takes it."""
    return orjson.dumps(value).decode()


def copy_rows(
    cursor: Cursor[Any], table: str, columns: Sequence[tuple[str, str]], rows: Iterable[tuple[Any, ...]]
) -> None:
    """COPY `rows` into the temporary table `table` with `columns` (name, SQL type), created the
    first time. `table` and `columns` are constants of the calling module, never input."""
    definitions = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({definitions}) ON COMMIT DELETE ROWS")
    # Empty already after a commit; not when one transaction works on two chunks (or uses it twice).
    cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - a constant of the caller
    names = ", ".join(name for name, _ in columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)

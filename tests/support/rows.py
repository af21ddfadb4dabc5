"""Reading rows back in assertions: over the end-to-end stack's database, and over a test's session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import Product


def rows(stack, sql: str, **params: Any) -> list[Any]:
    """The rows of `sql` (with :named parameters) on the stack's database, in a connection of their own
    (each a Row: a tuple)."""
    with stack.engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def one(stack, sql: str, **params: Any) -> Any:
    """The first column of the first row of `sql`: a count, a status."""
    return rows(stack, sql, **params)[0][0]


def id_of(session: Session, source_id: str) -> int | None:
    """The id of the product with this source id (None when there is none)."""
    return session.scalar(select(Product.id).where(Product.source_id == source_id))

"""The worker's unit of work: one session, one transaction, messages sent only after it commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from services.platform.db import get_sessionmaker


@contextmanager
def session_scope() -> Iterator[Session]:
    """Commit on success, roll back on error. Messages deferred with `send_after_commit` go out
    after the commit, and are dropped on rollback."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

"""Messages are sent after the transaction that made them true has committed, never before.

A message sent inside a transaction can reach a worker before the rows it names are visible, or
after they were rolled back. `send_after_commit` parks the message on the session; it is enqueued
when that session commits and dropped if it rolls back. A failed send is logged, not raised: the
rows are committed, and the sweeper re-sends work that stays pending (see workers/sweeper.py).
"""

from __future__ import annotations

from typing import Any

import dramatiq
import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = structlog.get_logger(__name__)

_PENDING = "pending_messages"


def send_after_commit(session: Session, message: dramatiq.Message[Any]) -> None:
    if session.get_transaction() is None:
        session.begin()  # so that a rollback, even before any SQL, is one we hear of
    session.info.setdefault(_PENDING, []).append(message)


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    messages: list[dramatiq.Message[Any]] = session.info.pop(_PENDING, [])
    broker = dramatiq.get_broker()
    for message in messages:
        try:
            # A delay travels in the message's options; the broker applies it only when told.
            broker.enqueue(message, delay=message.options.get("delay"))
        except Exception as exc:  # Redis down or unreachable: the data is safe in Postgres.
            log.warning("outbox.send_failed", actor=message.actor_name, error=str(exc) or type(exc).__name__)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)

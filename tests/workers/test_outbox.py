"""Messages leave only after the commit that made them true."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import text
from structlog.testing import capture_logs

from workers import messages, outbox
from workers.broker import broker


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(broker, "enqueue", lambda message, **kw: messages.append(message))
    return messages


def test_nothing_is_sent_before_the_commit_and_all_after(db_session, sent):
    outbox.send_after_commit(db_session, messages.import_job("a"))
    outbox.send_after_commit(db_session, messages.import_job("b"))
    db_session.execute(text("SELECT 1"))
    assert sent == []

    db_session.commit()

    assert [m.args for m in sent] == [("a",), ("b",)]


def test_a_rollback_drops_the_messages(db_session, sent):
    outbox.send_after_commit(db_session, messages.import_job("a"))
    db_session.rollback()
    db_session.commit()
    assert sent == []


def test_a_send_that_fails_is_logged_not_raised(db_session, monkeypatch):
    def refuse(message, **kw):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(broker, "enqueue", refuse)
    outbox.send_after_commit(db_session, messages.import_job("a"))
    with capture_logs() as logs:
        db_session.commit()  # does not raise: the sweeper will send it
    assert [(e["event"], e["actor"]) for e in logs] == [("outbox.send_failed", "pipeline.import_job")]


def test_a_delayed_message_is_enqueued_with_its_delay(db_session, monkeypatch):
    """The broker applies a delay only when told (enqueue's `delay`), not from the message's options."""
    calls = []
    monkeypatch.setattr(broker, "enqueue", lambda message, **kw: calls.append((message, kw)))
    outbox.send_after_commit(db_session, messages.stage_chunk("optimize", "a", 0, delay_ms=5000))
    outbox.send_after_commit(db_session, messages.stage_chunk("price", "a", 0))
    db_session.commit()
    assert [(m.actor_name, kw) for m, kw in calls] == [
        ("pipeline.optimize_chunk", {"delay": 5000}),
        ("pipeline.price_chunk", {"delay": None}),
    ]

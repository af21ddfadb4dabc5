"""Messages leave only after the commit that made them true."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import text
from structlog.testing import capture_logs

from workers import outbox
from workers.broker import broker
from workers.import_stage import import_job


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(broker, "enqueue", lambda message, **kw: messages.append(message))
    return messages


def test_nothing_is_sent_before_the_commit_and_all_after(db_session, sent):
    outbox.send_after_commit(db_session, import_job.message("a"))
    outbox.send_after_commit(db_session, import_job.message("b"))
    db_session.execute(text("SELECT 1"))
    assert sent == []

    db_session.commit()

    assert [m.args for m in sent] == [("a",), ("b",)]


def test_a_rollback_drops_the_messages(db_session, sent):
    outbox.send_after_commit(db_session, import_job.message("a"))
    db_session.rollback()
    db_session.commit()
    assert sent == []


def test_a_send_that_fails_is_logged_not_raised(db_session, monkeypatch):
    def refuse(message, **kw):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(broker, "enqueue", refuse)
    outbox.send_after_commit(db_session, import_job.message("a"))
    with capture_logs() as logs:
        db_session.commit()  # does not raise: the sweeper will send it
    assert [(e["event"], e["actor"]) for e in logs] == [("outbox.send_failed", "pipeline.import_job")]

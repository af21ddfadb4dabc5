"""The real actors on Dramatiq's StubBroker, run by a worker thread: the glue between messages and the
services (a chunk through every stage, the one-at-a-time recovery after a stopped delivery, re-sending
the stages a chunk waits at, the gave-up handlers) without processes. The e2e tests run the same
actors as processes on Redis; this tier shows which piece of glue broke, in a second.

Unit testing with the StubBroker: https://dramatiq.io/cookbook.html#unit-testing. Its worker commits
for real, so the actors work on a database of their own, not on the test's rolled-back session.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage
from sqlalchemy import Engine, create_engine, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

import workers.db
from models import JobItem, Listing, stages
from schemas.imports import JobRead
from services.callbacks import schedule
from services.imports.envelope import ImportOptions, ImportRequest
from services.imports.intake import accept_import
from services.pipeline import attempts, jobs
from services.pipeline.stages.import_ import import_chunk
from services.platform.db import upgrade_database
from services.platform.settings import get_settings
from tests.support.callback_receiver import CallbackReceiver
from tests.support.factories import product
from tests.support.servers import create_database
from workers import callbacks, import_stage, messages, stage_actors
from workers.middleware import LogContext

MARKETPLACES = ["amazon_de", "ebay_de"]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    url = create_database("listing_actors")
    upgrade_database(url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine, monkeypatch) -> Iterator[sessionmaker[Session]]:
    """Sessions on the actors' database; the actors' session_scope uses it too. Emptied after."""
    maker = sessionmaker(engine, expire_on_commit=False)
    monkeypatch.setattr(workers.db, "get_sessionmaker", lambda: maker)
    yield maker
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE import_jobs, products, webhooks CASCADE"))


def pipeline_actors() -> list[dramatiq.Actor[Any, Any]]:
    modules = (import_stage, stage_actors, callbacks)
    return [
        value for module in modules for value in vars(module).values() if isinstance(value, dramatiq.Actor)
    ]


@pytest.fixture
def broker(sessions, monkeypatch) -> Iterator[StubBroker]:
    """The pipeline's actors declared on a StubBroker (with our middleware), retrying within a second."""
    stub = StubBroker()
    stub.add_middleware(CurrentMessage())
    stub.add_middleware(LogContext())
    for actor in pipeline_actors():
        monkeypatch.setattr(actor, "broker", stub)  # what `on_retry_exhausted` sends through
        monkeypatch.setitem(actor.options, "min_backoff", 10)
        monkeypatch.setitem(actor.options, "max_backoff", 50)
        stub.declare_actor(actor)
    previous = dramatiq.get_broker()
    dramatiq.set_broker(stub)  # the outbox sends through the current broker
    yield stub
    dramatiq.set_broker(previous)
    stub.close()


@pytest.fixture
def worker(broker) -> Iterator[Worker]:
    worker = Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    yield worker
    worker.stop()


def run(
    broker: StubBroker, worker: Worker, message: dramatiq.Message[Any], *, fail_fast: bool = True
) -> None:
    """Send `message` and wait until it and everything it sent were processed."""
    broker.enqueue(message)
    broker.join(get_settings().worker_queue, timeout=TIMEOUT_MS, fail_fast=fail_fast)
    worker.join()


def accept(sessions, products: list[dict[str, Any]], chunk_size: int = 500, **options: Any) -> str:
    """A job as the webhook stores it (committed), not sent yet; `options` as ImportOptions takes them."""
    request = ImportRequest(
        source="allegro", products=products, options=ImportOptions(marketplaces=MARKETPLACES, **options)
    )
    with sessions() as session:
        accepted = accept_import(
            session, request, body_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(), body_bytes=1,
            chunk_size=chunk_size,
        )  # fmt: skip
        session.commit()
    return str(accepted.job_id)


def view(sessions, job_id: str) -> JobRead:
    with sessions() as session:
        return jobs.job_view(session, uuid.UUID(job_id))


def items(sessions, job_id: str) -> dict[int, JobItem]:
    with sessions() as session:
        rows = session.scalars(select(JobItem).where(JobItem.job_id == uuid.UUID(job_id)))
        return {item.position: item for item in rows}


def test_every_actor_the_messages_name_is_declared():
    declared = {actor.actor_name for actor in pipeline_actors()}
    named = {messages.IMPORT_JOB, messages.IMPORT_CHUNK} | {
        messages.stage_actor_name(stage) for stage in stages.PIPELINE if stage != stages.IMPORT
    }
    assert named <= declared
    for actor in pipeline_actors():
        if on_exhausted := actor.options.get("on_retry_exhausted"):
            assert on_exhausted in declared


def test_a_job_goes_through_every_stage_in_chunks(sessions, broker, worker):
    products = [product(n) for n in range(5)] + [{"source_id": "bad", "title": ""}]
    job_id = accept(sessions, products, chunk_size=2)

    run(broker, worker, messages.import_job(job_id))

    job = view(sessions, job_id)
    assert job.status == "completed_with_errors"
    assert (job.processed_products, job.failed_products) == (5, 1)
    assert job.stages["import"].model_dump() == {"done": 5, "failed": 1}
    assert job.stages["score"].model_dump() == {"done": 5, "failed": 0}
    assert [(e.source_id, e.field) for e in job.errors] == [("bad", "title")]
    with sessions() as session:
        listings = session.scalars(select(Listing)).all()
    assert sorted({listing.marketplace for listing in listings}) == MARKETPLACES
    assert len(listings) == 5 * len(MARKETPLACES)
    assert all(listing.score_key is not None for listing in listings)  # scored, not only imported


def test_the_same_message_twice_leaves_the_same_rows(sessions, broker, worker):
    job_id = accept(sessions, [product(n) for n in range(3)])
    run(broker, worker, messages.import_job(job_id))
    before = view(sessions, job_id)

    run(broker, worker, messages.import_job(job_id))  # a redelivery, after the job ended
    run(broker, worker, messages.stage_chunk(stages.SCORE, job_id, 0))

    after = view(sessions, job_id)
    assert after.model_dump(exclude={"completed_at"}) == before.model_dump(exclude={"completed_at"})
    with sessions() as session:
        assert len(session.scalars(select(Listing)).all()) == 3 * len(MARKETPLACES)


def test_import_job_splits_the_batch_once_and_a_delivery_that_dies_before_its_commit_loses_nothing(
    sessions, broker, worker, monkeypatch
):
    """The webhook stored the products as one body: import_job splits it into chunks in its
    transaction. A first delivery dies after splitting, before its commit; the retry finds the body
    whole, and a late redelivery finds nothing more to split."""
    job_id = accept(sessions, [product(n) for n in range(5)], chunk_size=2)
    real_waiting = jobs.waiting_stage_chunks
    deliveries: list[str] = []

    def dies_once(session: Session, job: uuid.UUID) -> list[tuple[str, int]]:
        deliveries.append(str(job))
        if len(deliveries) == 1:
            raise RuntimeError("the worker died")
        return real_waiting(session, job)

    monkeypatch.setattr(jobs, "waiting_stage_chunks", dies_once)

    run(broker, worker, messages.import_job(job_id), fail_fast=False)
    run(broker, worker, messages.import_job(job_id))  # a redelivery, or the sweeper's

    assert len(deliveries) == 3
    job = view(sessions, job_id)
    assert (job.status, job.processed_products, job.outcomes) == ("completed", 5, {"created": 5})
    with sessions() as session:
        split = session.execute(
            text("SELECT number, first_position, size FROM job_chunks WHERE job_id = :id ORDER BY number"),
            {"id": job_id},
        ).all()
        assert [tuple(row) for row in split] == [(0, 0, 2), (1, 2, 2), (2, 4, 1)]
        assert session.scalar(text("SELECT count(*) FROM job_bodies")) == 0


def test_a_stage_with_nothing_waiting_sends_the_stage_its_chunk_waits_at(
    sessions, broker, worker, monkeypatch
):
    """Normalize's message was lost: a late import message finds nothing to do and sends normalize again."""
    job_id = accept(sessions, [product(n) for n in range(2)])
    with monkeypatch.context() as lose_normalize:

        def send_all_but_normalize(session: Session, stage: str, job: str, number: int) -> None:
            if stage != stages.NORMALIZE:
                messages.send_stage(session, stage, job, number)

        lose_normalize.setattr(import_stage, "send_stage", send_all_but_normalize)
        run(broker, worker, messages.import_job(job_id))
    assert view(sessions, job_id).status == "running"
    assert {item.stage for item in items(sessions, job_id).values()} == {stages.NORMALIZE}

    with capture_logs() as logs:
        run(broker, worker, messages.import_chunk(job_id, 0))

    assert "import.resent_later_stages" in [entry["event"] for entry in logs]
    assert view(sessions, job_id).status == "completed"


def test_one_message_takes_a_chunk_from_normalize_past_score(sessions, broker, worker, monkeypatch):
    """A job without AI copy: normalize, price and score run back to back in normalize's message, one
    write each; the items' stages are recorded all the same (past score: done)."""
    sent: list[str] = []

    def record(session: Session, stage: str, job: str, number: int) -> None:
        sent.append(stage)
        messages.send_stage(session, stage, job, number)

    monkeypatch.setattr(stage_actors, "send_stage", record)
    job_id = accept(sessions, [product(n) for n in range(3)])
    run(broker, worker, messages.import_job(job_id))

    assert sent == []  # nothing after normalize: price and score ran in its message
    job = view(sessions, job_id)
    assert job.status == "completed"
    assert all(counts.done == 3 for stage, counts in job.stages.items() if stage != stages.OPTIMIZE)
    with sessions() as session:
        scored = session.scalar(
            select(func.count())
            .select_from(Listing)
            .join(JobItem, (JobItem.product_id == Listing.product_id) & (JobItem.job_id == uuid.UUID(job_id)))
            .where(Listing.price_status.is_not(None), Listing.quality_score.is_not(None))
        )
    assert scored == 3 * len(MARKETPLACES)


def test_a_chunk_stopped_before_is_worked_one_product_at_a_time(sessions, broker, worker):
    """A delivery died (attempts counted, nothing moved): the next works the items one by one, and an
    item that stopped the stage MAX_ATTEMPTS times fails alone with the reason."""
    job_id = accept(sessions, [product(n) for n in range(3)])
    with sessions() as session:  # imported; normalize's message "died" on each item, one worn out
        assert jobs.begin_job(session, uuid.UUID(job_id)) == [0]
        import_chunk(session, uuid.UUID(job_id), 0, next_stage=stages.NORMALIZE)
        attempts.count_attempt(session, uuid.UUID(job_id), [0, 1, 2])
        session.execute(
            update(JobItem)
            .where(JobItem.job_id == uuid.UUID(job_id), JobItem.position == 1)
            .values(attempts=attempts.MAX_ATTEMPTS)
        )
        session.commit()

    with capture_logs() as logs:
        run(broker, worker, messages.stage_chunk(stages.NORMALIZE, job_id, 0))

    events = [entry["event"] for entry in logs]
    assert "normalize.one_at_a_time" in events
    assert "normalize.products_worn_out" in events
    job = view(sessions, job_id)
    assert job.status == "completed_with_errors"
    assert (job.processed_products, job.failed_products) == (2, 1)
    (error,) = job.errors
    assert (error.position, error.stage) == (1, "normalize")
    assert f"stopped {attempts.MAX_ATTEMPTS} times" in error.error
    assert {item.attempts for position, item in items(sessions, job_id).items() if position != 1} == {0}


def test_a_stage_that_keeps_failing_gives_up_on_its_chunk_and_the_job_ends(
    sessions, broker, worker, monkeypatch
):
    """Pricing raises for the whole chunk (not one product): nothing of the run is written, so the
    items fail where they stand, at normalize (whose message runs price), with the reason."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("pricing is down")

    monkeypatch.setattr(stage_actors, "price_step", broken)
    monkeypatch.setitem(stage_actors.normalize_chunk.options, "max_retries", 1)
    job_id = accept(sessions, [product(n) for n in range(2)])

    run(broker, worker, messages.import_job(job_id), fail_fast=False)

    job = view(sessions, job_id)
    assert job.status == "completed_with_errors"
    assert job.failed_products == 2
    assert job.stages["normalize"].model_dump() == {"done": 0, "failed": 2}
    assert job.stages["price"].model_dump() == {"done": 0, "failed": 0}
    assert {e.error for e in job.errors} == {
        "normalize failed after 1 attempts (RuntimeError); see the worker's log"
    }


def test_a_job_calls_back_when_it_ends_and_tries_again_while_the_receiver_is_not_listening(
    sessions, broker, worker, monkeypatch
):
    monkeypatch.setattr(schedule, "FIRST_DELAY_SECONDS", 0.05)  # the backoff, shortened
    with CallbackReceiver() as receiver:
        receiver.answer(409)  # n8n's Wait node is not listening yet
        job_id = accept(
            sessions, [product(1)], callback_url=receiver.url(), callback_headers={"X-Auth": "secret-value"}
        )

        run(broker, worker, messages.import_job(job_id))

        job = view(sessions, job_id)
        received = receiver.received
        url = receiver.url()
    assert job.callback is not None
    assert job.callback.status == "delivered"
    assert [(a.attempt, a.outcome, a.status_code) for a in job.callback.attempts] == [
        (1, "retry", 409),
        (2, "delivered", 200),
    ]
    assert job.callback.url == url.split("?")[0]  # the resume URL's signature is not shown
    assert job.options["callback_headers"] == {"X-Auth": "***"}
    assert len(received) == 2
    assert received[1].json["status"] == "completed"
    assert received[1].json["stages"]["score"] == {"done": 1, "failed": 0}
    assert received[1].headers["x-auth"] == "secret-value"
    assert received[0].headers["webhook-id"] == received[1].headers["webhook-id"]


def test_a_callback_is_started_once_however_often_the_job_is_finished(sessions, broker, worker):
    with CallbackReceiver() as receiver:
        job_id = accept(sessions, [product(1)], callback_url=receiver.url())
        run(broker, worker, messages.import_job(job_id))
        run(broker, worker, messages.stage_chunk(stages.SCORE, job_id, 0))  # a redelivery after the end

        assert len(receiver.received) == 1
    callback = view(sessions, job_id).callback
    assert callback is not None
    assert callback.status == "delivered"

"""Accepting a webhook's batch (its products stored as one body, nothing per product) and the worker's
split of that body into chunks when the job begins: once, whatever the deliveries."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import func, select, text

from models import ImportJob, JobBody, JobChunk
from services.imports.envelope import ImportRequest
from services.imports.intake import accept_import, duplicate_positions, split_body, stored_products
from services.pipeline import jobs
from tests.support.factories import product
from tests.support.jobs import new_job


def body_of(session, job_id: uuid.UUID):
    """The job's stored body (a JobBody), or None."""
    return session.scalar(select(JobBody).where(JobBody.job_id == job_id))


def chunk_rows(session, job_id: uuid.UUID) -> list[tuple[Any, ...]]:
    chunks = session.scalars(select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.number))
    return [(c.number, c.first_position, c.size, orjson.loads(c.products), c.duplicates) for c in chunks]


# Seven products in chunks of 3: product 1 at positions 0 and 5 (across chunks), product 2 at 1 and 2.
BATCH = [product(1, title="old"), product(2, title="old"), product(2), product(3), product(4), product(1), 17]


class TestAccept:
    def test_the_request_stores_the_products_as_one_body_and_no_chunk(self, db_session):
        request = ImportRequest(source="allegro", products=BATCH)
        accepted = accept_import(db_session, request, body_sha256="a" * 64, body_bytes=1, chunk_size=3)

        assert (accepted.received, accepted.created) == (7, True)
        assert db_session.get(ImportJob, accepted.job_id).total_products == 7
        body = body_of(db_session, accepted.job_id)
        assert (body.chunk_size, stored_products(body.body)) == (3, BATCH)
        assert chunk_rows(db_session, accepted.job_id) == []

    def test_a_repeated_key_stores_nothing_again(self, db_session):
        request = ImportRequest(source="allegro", products=[product(1)])
        first = accept_import(
            db_session, request, body_sha256="b" * 64, body_bytes=1, chunk_size=3, idempotency_key="k"
        )
        again = accept_import(
            db_session, request, body_sha256="b" * 64, body_bytes=1, chunk_size=3, idempotency_key="k"
        )
        assert (again.job_id, again.created) == (first.job_id, False)
        assert db_session.scalar(select(func.count()).select_from(JobBody)) == 1


class TestSplit:
    def test_the_chunks_and_duplicates_are_those_the_request_used_to_write(self, db_session):
        job_id = new_job(db_session, BATCH, chunk_size=3)

        assert split_body(db_session, job_id) == 7

        assert duplicate_positions(BATCH) == {0, 1}
        assert (
            chunk_rows(db_session, job_id)
            == [
                (0, 0, 3, BATCH[0:3], [0, 1]),  # the later product 1 and product 2 are imported
                (1, 3, 3, BATCH[3:6], []),
                (2, 6, 1, BATCH[6:], []),
            ]
        )
        assert body_of(db_session, job_id) is None

    def test_text_with_escapes_and_nul_reaches_the_chunk_as_received(self, db_session):
        nasty = product(1, title='C:\\dir\ttab "quoted" \\N \u00a0 zł \\u0000 \u0000')
        job_id = new_job(db_session, [nasty])
        split_body(db_session, job_id)
        assert chunk_rows(db_session, job_id)[0][3] == [nasty]

    def test_a_job_without_a_body_is_not_split(self, db_session):
        job_id = new_job(db_session, [product(1)])
        split_body(db_session, job_id)
        assert split_body(db_session, job_id) is None
        assert len(chunk_rows(db_session, job_id)) == 1


class TestBeginJob:
    def test_beginning_a_job_splits_it_once_however_often_it_is_delivered(self, db_session):
        job_id = new_job(db_session, BATCH, chunk_size=3)

        assert jobs.begin_job(db_session, job_id) == [0, 1, 2]
        split = chunk_rows(db_session, job_id)
        assert jobs.begin_job(db_session, job_id) == [0, 1, 2]  # a redelivery, or the sweeper's

        assert chunk_rows(db_session, job_id) == split
        assert body_of(db_session, job_id) is None
        assert db_session.get(ImportJob, job_id).status == "running"

    def test_a_delivery_that_dies_before_its_commit_leaves_the_body_for_the_next(self, db_session):
        job_id = new_job(db_session, BATCH, chunk_size=3)
        db_session.commit()

        with db_session.begin_nested() as delivery:  # its transaction: split, then it dies
            jobs.begin_job(db_session, job_id)
            delivery.rollback()

        db_session.expire_all()
        assert body_of(db_session, job_id) is not None
        assert chunk_rows(db_session, job_id) == []
        assert db_session.get(ImportJob, job_id).status == "pending"
        assert jobs.begin_job(db_session, job_id) == [0, 1, 2]
        assert len(chunk_rows(db_session, job_id)) == 3

    def test_a_lost_pending_job_is_claimed_and_split_when_it_is_sent_again(self, db_session):
        job_id = new_job(db_session, [product(1), product(2)])
        db_session.execute(
            text("UPDATE import_jobs SET dispatched_at = now() - interval '1 minute' WHERE id = :id"),
            {"id": job_id},
        )
        assert job_id in jobs.claim_lost_jobs(db_session, pending_after_seconds=30, stalled_after_seconds=300)
        assert jobs.begin_job(db_session, job_id) == [0]
        assert chunk_rows(db_session, job_id)[0][2] == 2

"""Attempts counted in Postgres: a chunk stopped before is worked one product at a time, and a product
that stopped its stage too often fails alone."""

from __future__ import annotations

from sqlalchemy import select

from models import JobItem, stages
from services.pipeline import attempts, jobs
from services.pipeline.items import claim_items
from services.pipeline.stages import import_ as product_import
from tests.support.factories import spam_product
from tests.support.jobs import new_job
from tests.support.pipeline import normalize_first_chunk


def imported_job(session, count=3):
    job_id = new_job(session, [spam_product(i) for i in range(1, count + 1)])
    for number in jobs.begin_job(session, job_id):
        product_import.import_chunk(session, job_id, number, next_stage=stages.NORMALIZE)
    return job_id


def test_a_fresh_chunk_has_not_stopped_and_moving_on_resets_the_count(db_session):
    job_id = imported_job(db_session)
    waiting = attempts.waiting(db_session, job_id, 0, stages.NORMALIZE)
    assert waiting.attempts == {0: 0, 1: 0, 2: 0}
    assert not waiting.stopped_before

    attempts.count_attempt(db_session, job_id, list(waiting.attempts))
    assert attempts.waiting(db_session, job_id, 0, stages.NORMALIZE).stopped_before
    normalize_first_chunk(db_session, job_id)

    assert set(db_session.scalars(select(JobItem.attempts).where(JobItem.job_id == job_id))) == {0}


def test_items_stopped_too_often_fail_alone_and_the_others_are_tried(db_session):
    job_id = imported_job(db_session)
    for _ in range(attempts.MAX_ATTEMPTS):
        attempts.count_attempt(db_session, job_id, [1])
    attempts.count_attempt(db_session, job_id, [0, 2])

    waiting = attempts.waiting(db_session, job_id, 0, stages.NORMALIZE)
    assert (waiting.worn_out(), waiting.to_try()) == ([1], [0, 2])
    assert attempts.fail_worn_out(db_session, job_id, 0, stages.NORMALIZE, waiting.worn_out()) == 1

    (failed,) = jobs.job_view(db_session, job_id).errors
    assert failed.position == 1
    assert failed.stage == "normalize"
    assert "stopped 3 times" in failed.error
    assert [item.position for item in claim_items(db_session, job_id, 0, stages.NORMALIZE, only=[0, 1])] == [
        0
    ]

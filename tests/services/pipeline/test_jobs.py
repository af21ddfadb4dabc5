"""Jobs: the sweeper's choice of lost jobs, and failing a job as a whole."""

from __future__ import annotations

from sqlalchemy import text

from models import ImportJob
from services.pipeline import jobs
from tests.support.factories import product
from tests.support.jobs import new_job, run_job


def age(session, job_id, *, dispatched_seconds_ago: float, items_seconds_ago: float | None = None):
    session.execute(
        text("UPDATE import_jobs SET dispatched_at = now() - make_interval(secs => :s) WHERE id = :id"),
        {"s": dispatched_seconds_ago, "id": job_id},
    )
    if items_seconds_ago is not None:
        for table in ("job_chunks", "job_items"):
            session.execute(
                text(f"UPDATE {table} SET updated_at = now() - make_interval(secs => :s) WHERE job_id = :id"),  # noqa: S608
                {"s": items_seconds_ago, "id": job_id},
            )


def claim(session):
    return set(jobs.claim_lost_jobs(session, pending_after_seconds=30, stalled_after_seconds=300))


class TestClaimLostJobs:
    def test_a_job_pending_too_long_is_claimed_once(self, db_session):
        lost = new_job(db_session, [product(1)])
        fresh = new_job(db_session, [product(2)])
        age(db_session, lost, dispatched_seconds_ago=31)

        assert claim(db_session) == {lost}
        assert claim(db_session) == set()  # claimed means sent again now: not again in the next round
        assert fresh not in claim(db_session)

    def test_a_running_job_whose_items_stopped_moving_is_claimed(self, db_session):
        stalled = new_job(db_session, [product(i) for i in range(4)], chunk_size=2)
        moving = new_job(db_session, [product(i) for i in range(10, 14)], chunk_size=2)
        for job_id in (stalled, moving):
            jobs.begin_job(db_session, job_id)
        from services.pipeline.stages.import_ import import_chunk

        import_chunk(db_session, stalled, 0)
        import_chunk(db_session, moving, 0)
        age(db_session, stalled, dispatched_seconds_ago=301, items_seconds_ago=301)
        age(db_session, moving, dispatched_seconds_ago=301, items_seconds_ago=10)

        assert claim(db_session) == {stalled}

    def test_finished_jobs_are_never_claimed(self, db_session):
        done = new_job(db_session, [product(1)])
        run_job(db_session, done)
        age(db_session, done, dispatched_seconds_ago=10_000, items_seconds_ago=10_000)
        assert claim(db_session) == set()


class TestFailJob:
    def test_a_job_that_could_not_run_is_failed_with_the_reason(self, db_session):
        job_id = new_job(db_session, [product(1), product(2)])
        jobs.fail_job(db_session, job_id, "the job could not start after 8 attempts (OperationalError)")

        view = jobs.job_view(db_session, job_id)
        assert view.status == "failed"
        assert view.error == "the job could not start after 8 attempts (OperationalError)"
        assert view.completed_at is not None
        assert jobs.begin_job(db_session, job_id) == []  # a late redelivery does not revive it

    def test_a_finished_job_is_not_failed_afterwards(self, db_session):
        job_id = new_job(db_session, [product(1)])
        run_job(db_session, job_id)
        jobs.fail_job(db_session, job_id, "late")
        assert db_session.get(ImportJob, job_id).status == "completed"

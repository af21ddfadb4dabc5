"""GET /api/import/jobs: recent jobs, newest first, a page at a time, with the next page's URL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from models import ImportJob
from services.access import api_keys
from services.access.api_keys import Scope
from services.pipeline import jobs
from services.pipeline.stages.import_ import import_chunk
from tests.support.factories import product
from tests.support.jobs import new_job, run_job

URL = "/api/import/jobs"
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def make_job(session, minutes: int, *, source: str = "allegro", status: str | None = None) -> uuid.UUID:
    """A job accepted `minutes` after START (one transaction gives every row the same now())."""
    job_id: uuid.UUID = new_job(session, [product(minutes)], source=source)
    values: dict[str, object] = {"created_at": START + timedelta(minutes=minutes)}
    if status is not None:
        values["status"] = status
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
    return job_id


def walk(client, url: str) -> list[dict[str, Any]]:
    """Every item, following `next` from `url` as n8n's pagination does."""
    items: list[dict[str, Any]] = []
    while url:
        page = client.get(url).json()
        items.extend(page["items"])
        url = page["next"]
    return items


def test_no_jobs(client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": 20,
        "total_pages": 0,
        "next": None,
    }


def test_newest_first_a_page_at_a_time_with_the_next_pages_url(client, db_session):
    ids = [make_job(db_session, minutes) for minutes in range(5)]

    first = client.get(URL, params={"page_size": 2}).json()

    assert first["total"] == 5
    assert first["total_pages"] == 3
    assert [item["id"] for item in first["items"]] == [str(ids[4]), str(ids[3])]
    assert first["next"] == f"{URL}?page_size=2&page=2"
    last = client.get(URL, params={"page_size": 2, "page": 3}).json()
    assert last["next"] is None
    assert [item["id"] for item in walk(client, f"{URL}?page_size=2")] == [str(i) for i in reversed(ids)]


def test_an_item_says_where_to_read_the_rest(client, db_session):
    job_id = make_job(db_session, 0)
    (item,) = client.get(URL).json()["items"]
    assert item == {
        "id": str(job_id), "status": "pending", "source": "allegro", "total_products": 1,
        "processed_products": 0, "failed_products": 0, "created_at": "2026-11-22T08:00:00Z",
        "completed_at": None, "status_url": f"/api/import/job/{job_id}",
    }  # fmt: skip
    assert client.get(item["status_url"]).status_code == 200


def test_filters_by_status_and_source_and_keeps_them_in_next(client, db_session):
    make_job(db_session, 0, status="completed")
    wanted = [make_job(db_session, n, source="ceneo", status="completed") for n in (1, 2)]
    make_job(db_session, 3, source="ceneo", status="failed")

    page = client.get(URL, params={"status": "completed", "source": "Ceneo", "page_size": 1}).json()

    assert page["total"] == 2
    assert page["next"] == f"{URL}?status=completed&source=Ceneo&page_size=1&page=2"
    found = walk(client, f"{URL}?status=completed&source=Ceneo&page_size=1")
    assert [item["id"] for item in found] == [str(wanted[1]), str(wanted[0])]


@pytest.mark.parametrize("params", [{"status": "done"}, {"page": 0}, {"page_size": 201}])
def test_wrong_parameters_are_422(client, params):
    assert client.get(URL, params=params).status_code == 422


def test_a_running_job_counts_its_items_now_an_ended_one_keeps_its_counts(client, db_session):
    running = new_job(db_session, [product(1), {"source_id": "2"}, product(3)], chunk_size=2)
    first_chunk, _ = jobs.begin_job(db_session, running)
    import_chunk(db_session, running, first_chunk)  # the second chunk is still to import
    ended = new_job(db_session, [product(4), {"title": "no id"}])
    assert run_job(db_session, ended) == "completed_with_errors"
    db_session.execute(update(ImportJob).where(ImportJob.id == ended).values(created_at=START))

    items = {item["id"]: item for item in client.get(URL).json()["items"]}

    counts = ("status", "total_products", "processed_products", "failed_products")
    assert tuple(items[str(running)][key] for key in counts) == ("running", 3, 1, 1)
    assert tuple(items[str(ended)][key] for key in counts) == ("completed_with_errors", 2, 1, 1)
    assert items[str(ended)]["completed_at"] is not None


def test_a_read_key_lists_and_no_key_is_401(anonymous_client, db_session):
    key = api_keys.create_key(db_session, "dashboard", Scope.READ).key
    assert anonymous_client.get(URL).status_code == 401
    assert anonymous_client.get(URL, headers={"X-API-Key": key}).status_code == 200
    assert anonymous_client.get(URL, headers={"X-Webhook-Secret": "test-secret"}).status_code == 401

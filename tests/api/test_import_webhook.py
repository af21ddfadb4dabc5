"""The webhook contract: auth, the four body shapes, limits, idempotency, storage before 202 (the
products as one body, no chunk: the worker splits it)."""

from __future__ import annotations

import hashlib
import time
import uuid

import orjson
import pytest
from sqlalchemy import func, select, text

from models import ImportJob, JobBody, JobChunk, Webhook
from services.imports import intake
from services.pipeline import jobs
from tests.support.factories import product

SECRET = {"X-Webhook-Secret": "test-secret"}
URL = "/api/import/webhook"


def post(client, body, headers=None, **kwargs):
    return client.post(URL, content=orjson.dumps(body), headers={**SECRET, **(headers or {})}, **kwargs)


def queued_messages(redis_client) -> int:
    return int(redis_client.llen("dramatiq:pipeline"))


def stored_products(session, job_id: uuid.UUID) -> list[object]:
    """The products the request stored for the worker (its one body); and no chunk of them yet."""
    assert session.scalar(select(func.count()).select_from(JobChunk).where(JobChunk.job_id == job_id)) == 0
    body = session.scalar(select(JobBody.body).where(JobBody.job_id == job_id))
    return intake.stored_products(body)


def chunks(session, job_id: uuid.UUID) -> list[JobChunk]:
    """The job's chunks once the worker has begun it (split its body)."""
    jobs.begin_job(session, job_id)
    return list(session.scalars(select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.number)))


class TestAuthentication:
    def test_missing_secret_is_401(self, client):
        response = client.post(URL, json={"products": [product(1)]})
        assert response.status_code == 401
        assert "X-Webhook-Secret" in response.json()["detail"]

    def test_wrong_secret_is_401(self, client, db_session):
        response = post(client, {"products": [product(1)]}, headers={"X-Webhook-Secret": "nope"})
        assert response.status_code == 401
        assert db_session.scalar(select(func.count()).select_from(ImportJob)) == 0


class TestShapes:
    @pytest.mark.parametrize(
        ("body", "source", "event_type"),
        [
            ({"source": "allegro", "options": {"publish": False}, "products": [product(1), product(2)]},
             "allegro", "product.import"),
            ({"source": "Allegro", "event_type": "product.import",
              "data": {"products": [product(1), product(2)]}}, "allegro", "product.import"),
            ([product(1), product(2)], "allegro", "product.import"),
        ],
        ids=["envelope", "original-envelope", "bare-array"],
    )  # fmt: skip
    def test_batch_shapes_store_a_job_with_its_items(self, client, db_session, redis_client, body, source,
                                                     event_type):  # fmt: skip
        response = post(client, body)

        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["status"] == "pending"
        assert answer["received"] == 2
        assert answer["status_url"] == f"/api/import/job/{answer['job_id']}"
        job = db_session.get(ImportJob, uuid.UUID(answer["job_id"]))
        assert job.source == source
        assert job.total_products == 2
        assert stored_products(db_session, job.id) == [product(1), product(2)]
        webhook = db_session.scalar(select(Webhook).where(Webhook.import_job_id == job.id))
        assert webhook.event_type == event_type
        assert "products" not in webhook.payload
        assert webhook.headers["user-agent"] == "testclient"
        assert "x-webhook-secret" not in webhook.headers
        assert queued_messages(redis_client) == 1

    def test_text_with_escapes_and_nul_is_stored_exactly(self, client, db_session):
        nasty = product(1, source_id="a\tb\\c\nd", title='C:\\dir\ttab "quoted" \\N \u00a0 zł \\u0000 \u0000')
        job_id = uuid.UUID(post(client, [nasty]).json()["job_id"])
        assert stored_products(db_session, job_id) == [nasty]
        (chunk,) = chunks(db_session, job_id)
        assert orjson.loads(chunk.products) == [nasty]

    def test_single_product_object(self, client, db_session):
        response = post(client, product(7))
        assert response.status_code == 202
        assert response.json()["received"] == 1

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"foo": "bar"}, "expected a JSON object"),
            ("hello", "got string"),
            (42, "got number"),
            ({"products": {"a": 1}}, '"products" must be an array'),
            ({"data": [1]}, '"data" must be an object'),
            ({"products": []}, "no products"),
            ({"products": [product(1)], "options": {"publish": "maybe"}}, "options.publish"),
            ({"products": [product(1)], "options": []}, '"options" must be an object'),
            ({"source": "", "products": [product(1)]}, '"source" must be'),
        ],
    )
    def test_unknown_shape_is_422_saying_what_was_expected(self, client, db_session, body, expected):
        response = post(client, body)
        assert response.status_code == 422
        assert expected in response.json()["detail"]
        assert db_session.scalar(select(func.count()).select_from(ImportJob)) == 0

    def test_malformed_json_is_422(self, client):
        response = client.post(URL, content=b'{"products": [', headers=SECRET)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("malformed JSON")

    def test_nan_is_not_json(self, client):
        response = client.post(URL, content=b'{"products": [{"source_id": "1", "title": "x", "price": NaN}]}',
                               headers=SECRET)  # fmt: skip
        assert response.status_code == 422

    def test_form_body_is_415(self, client):
        response = client.post(
            URL, content=b"a=1", headers={**SECRET, "Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 415


class TestLimits:
    def test_body_over_the_limit_is_413(self, client, monkeypatch):
        from services.platform.settings import get_settings

        monkeypatch.setattr(get_settings(), "max_body_bytes", 10_000)
        response = post(client, {"products": [product(i) for i in range(10)]})
        assert response.status_code == 413
        assert "10000 bytes" in response.json()["detail"]

    def test_too_many_products_is_413(self, client, monkeypatch):
        from services.platform.settings import get_settings

        monkeypatch.setattr(get_settings(), "max_products_per_request", 3)
        response = post(client, [product(i) for i in range(4)])
        assert response.status_code == 413
        assert "limit is 3" in response.json()["detail"]


class TestIdempotency:
    def test_same_key_returns_the_first_job(self, client, db_session, redis_client):
        body = {"products": [product(1)]}
        first = post(client, body, headers={"Idempotency-Key": "batch-42"})
        second = post(client, body, headers={"Idempotency-Key": "batch-42"})

        assert first.status_code == second.status_code == 202
        assert first.json()["job_id"] == second.json()["job_id"]
        assert second.json()["created"] is False
        assert db_session.scalar(select(func.count()).select_from(ImportJob)) == 1
        assert db_session.scalar(select(func.count()).select_from(JobBody)) == 1
        assert queued_messages(redis_client) == 1

    def test_same_key_with_another_body_is_422(self, client):
        post(client, {"products": [product(1)]}, headers={"Idempotency-Key": "k"})
        response = post(client, {"products": [product(2)]}, headers={"Idempotency-Key": "k"})
        assert response.status_code == 422
        assert "different body" in response.json()["detail"]

    def test_a_key_longer_than_255_characters_is_422(self, client, db_session):
        response = post(client, [product(1)], headers={"Idempotency-Key": "k" * 256})
        assert response.status_code == 422
        assert db_session.scalar(select(func.count()).select_from(ImportJob)) == 0

    def test_while_the_first_request_is_being_stored_a_second_is_409_then_gets_the_first_job(
        self, client, db_session, redis_client
    ):
        from services.imports.envelope import parse_import_body
        from services.imports.intake import accept_import
        from services.platform.db import get_sessionmaker

        body = [product(1)]
        raw = orjson.dumps(body)
        # The first request, in its own transaction (another connection), has stored its job and
        # not committed yet.
        first = get_sessionmaker()()
        accepted = accept_import(
            first,
            parse_import_body(body, default_source="allegro", max_products=10),
            body_sha256=hashlib.sha256(raw).hexdigest(),
            body_bytes=len(raw),
            chunk_size=500,
            idempotency_key="in-flight",
        )
        try:
            started = time.monotonic()
            busy = post(client, body, headers={"Idempotency-Key": "in-flight"})
            assert busy.status_code == 409, busy.text
            assert time.monotonic() - started < 2  # answered at once, not after waiting for the first
            assert busy.headers["retry-after"] == "1"
            assert "still being stored" in busy.json()["detail"]

            first.commit()
            again = post(client, body, headers={"Idempotency-Key": "in-flight"})
            assert again.status_code == 202
            assert again.json()["job_id"] == str(accepted.job_id)
            assert again.json()["created"] is False
            assert queued_messages(redis_client) == 0
        finally:
            first.rollback()  # committed above unless an assertion failed before: then drop it now
            first.execute(text("DELETE FROM webhooks WHERE import_job_id = :id"), {"id": accepted.job_id})
            first.execute(text("DELETE FROM import_jobs WHERE id = :id"), {"id": accepted.job_id})
            first.commit()
            first.close()

    def test_without_a_key_each_delivery_is_a_job(self, client, db_session):
        post(client, [product(1)])
        post(client, [product(1)])
        assert db_session.scalar(select(func.count()).select_from(ImportJob)) == 2


class TestDuplicatesInOneBatch:
    def test_earlier_occurrences_are_marked_duplicate_when_the_worker_splits_the_batch(
        self, client, db_session
    ):
        body = [product(1, title="old"), product(2), product(1, title="new")]
        job_id = uuid.UUID(post(client, body).json()["job_id"])
        assert stored_products(db_session, job_id) == body  # the request looked for none
        (chunk,) = chunks(db_session, job_id)
        assert chunk.duplicates == [0]


class TestRedisDown:
    def test_webhook_still_accepts_and_leaves_the_job_pending(self, client, db_session, monkeypatch):
        import redis

        from workers.broker import broker

        def refuse(*args, **kwargs):
            raise redis.ConnectionError("Connection refused")

        monkeypatch.setattr(broker, "enqueue", refuse)
        response = post(client, [product(1), product(2)])

        assert response.status_code == 202
        job = db_session.get(ImportJob, uuid.UUID(response.json()["job_id"]))
        assert job.status == "pending"
        assert len(stored_products(db_session, job.id)) == 2


class TestJobStatus:
    def test_unknown_job_is_404(self, client):
        assert client.get(f"/api/import/job/{uuid.uuid4()}").status_code == 404
        assert client.get("/api/import/job/not-a-uuid").status_code == 404

    def test_a_new_job_reads_pending_with_zero_progress(self, client):
        job_id = post(client, [product(1), product(2)]).json()["job_id"]
        job = client.get(f"/api/import/job/{job_id}").json()
        assert job["status"] == "pending"
        assert job["total_products"] == 2
        assert job["processed_products"] == 0
        assert job["stages"] == {
            stage: {"done": 0, "failed": 0} for stage in ("import", "normalize", "optimize", "price", "score")
        }
        assert job["analysis"] == {"ok": 0, "warning": 0, "blocked": 0}
        assert job["progress"] == 0.0
        assert job["errors"] == []
        assert job["completed_at"] is None


class TestOptions:
    def test_unknown_marketplace_is_422_naming_the_known_ones(self, client):
        response = post(
            client, {"options": {"marketplaces": ["amazon_de", "amazon_xx"]}, "products": [product(1)]}
        )
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert "unknown marketplace 'amazon_xx'" in detail
        assert "ebay_de" in detail

    def test_marketplaces_are_taken_in_any_case_once_each(self, client):
        response = post(
            client, {"options": {"marketplaces": ["EBAY_DE", "ebay_de"]}, "products": [product(1)]}
        )
        job = client.get(response.json()["status_url"]).json()
        assert job["options"]["marketplaces"] == ["ebay_de"]

    def test_unknown_pricing_profile_is_422_naming_the_known_ones(self, client):
        response = post(client, {"options": {"pricing_profile": "cheap"}, "products": [product(1)]})
        assert response.status_code == 422
        assert response.json()["detail"] == "no pricing profile named 'cheap'; known: default"

    def test_a_known_pricing_profile_is_accepted(self, client):
        response = post(client, {"options": {"pricing_profile": "default"}, "products": [product(1)]})
        assert response.status_code == 202

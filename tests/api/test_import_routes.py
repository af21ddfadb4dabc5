"""The seed's routes kept for its clients: single product, batch, health."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from models import Product
from services.pipeline import jobs
from tests.support.factories import product
from tests.support.pipeline import run_stages


class TestImportProduct:
    def test_a_valid_product_is_imported_at_once(self, client, db_session, redis_client):
        response = client.post("/api/import/product", json=product(1, price="1 299,99 zł"))

        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["status"] == "pending"  # normalize, price and score follow in the workers
        assert answer["outcome"] == "created"
        stored = db_session.get(Product, answer["product_id"])
        assert stored.source_id == product(1)["source_id"]
        assert str(stored.price) == "1299.99"
        sent = redis_client.lrange("dramatiq:pipeline", 0, -1)
        assert len(sent) == 1
        run_stages(db_session, uuid.UUID(answer["job_id"]))
        jobs.finish_if_done(db_session, uuid.UUID(answer["job_id"]))
        job = client.get(answer["status_url"]).json()
        assert job["status"] == "completed"
        assert job["stages"]["score"] == {"done": 1, "failed": 0}

    def test_the_same_product_again_is_unchanged_and_keeps_its_id(self, client):
        first = client.post("/api/import/product", json=product(1)).json()
        again = client.post("/api/import/product", json=product(1)).json()
        assert again["product_id"] == first["product_id"]
        assert again["outcome"] == "unchanged"

    def test_an_invalid_product_is_422_with_its_field_errors(self, client, db_session):
        response = client.post("/api/import/product", json=product(1, price="zapytaj sprzedawcę", title=""))

        assert response.status_code == 422
        detail = response.json()["detail"]
        assert {e["field"] for e in detail["errors"]} == {"price", "title"}
        assert client.get(f"/api/import/job/{detail['job_id']}").json()["status"] == "completed_with_errors"
        assert db_session.scalar(select(Product)) is None

    def test_not_an_object_is_422(self, client):
        response = client.post("/api/import/product", json=[product(1)])
        assert response.status_code == 422
        assert "one product" in response.json()["detail"]


class TestImportBatch:
    def test_batch_answers_like_the_webhook(self, client):
        response = client.post("/api/import/batch", json={"products": [product(1), product(2)]})
        assert response.status_code == 202
        assert response.json()["received"] == 2

    def test_batch_takes_a_bare_array_and_a_source_parameter(self, client):
        response = client.post("/api/import/batch?source=ebay", json=[product(1)])
        job = client.get(response.json()["status_url"]).json()
        assert job["source"] == "ebay"


class TestHealth:
    def test_healthy_when_postgres_and_redis_answer(self, client):
        response = client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "healthy", "database": "connected", "redis": "connected"}

    def test_every_response_carries_a_request_id(self, client):
        assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
        assert len(client.get("/health").headers["x-request-id"]) == 32

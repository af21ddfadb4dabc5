"""End to end: a webhook posted to the real API process, imported by a real worker process."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from devstack.servers import LocalRedis, free_port
from services.imports.intake import stored_products
from tests.support.factories import product
from tests.support.rows import rows

pytestmark = pytest.mark.e2e


def test_a_batch_goes_from_webhook_to_products(stack):
    stack.start_api()
    stack.start_worker()
    products = [product(i) for i in range(95)]
    products[10]["cost"] = "zapytaj sprzedawcę"  # an unreadable price only warns: it imports
    products[20]["title"] = "   "
    products.append(product(3, title="Sony WH-1000XM4 newer scrape"))  # a repeat: the last one wins

    response = stack.post("/api/import/webhook", {"source": "allegro", "products": products})
    assert response.status_code == 202, response.text
    job = stack.wait_for_job(response.json()["job_id"])

    assert job["status"] == "completed_with_errors"
    assert job["total_products"] == 96
    assert job["processed_products"] == 94
    assert job["failed_products"] == 2
    for stage in ("import", "normalize", "optimize", "price", "score"):
        assert job["stages"][stage] == {"done": 93 + (stage == "import"), "failed": 2 * (stage == "import")}
    assert sum(job["analysis"].values()) == 93
    assert job["outcomes"] == {"created": 93, "duplicate": 1}
    assert job["progress"] == 1.0
    assert job["completed_at"] is not None
    assert {(e["source_id"], e["field"]) for e in job["errors"]} == {
        (products[10]["source_id"], "cost"),
        (products[20]["source_id"], "title"),
    }
    assert rows(stack, "SELECT count(*) FROM products")[0][0] == 93
    ((title, price),) = rows(
        stack, "SELECT title, price FROM products WHERE source_id = :s", s=product(3)["source_id"]
    )
    assert title == "Sony WH-1000XM4 newer scrape"
    assert isinstance(price, Decimal)
    # Every imported product went through the stages, once, on the default marketplaces.
    assert rows(stack, "SELECT status, count(*) FROM products GROUP BY status") == [("scored", 93)]
    assert rows(
        stack,
        "SELECT marketplace, count(*), count(price), count(quality_score), count(evaluation)"
        " FROM product_listings GROUP BY marketplace ORDER BY marketplace",
    ) == [(m, 93, 93, 93, 93) for m in ("amazon_de", "ebay_de", "kaufland_de")]
    assert rows(stack, "SELECT count(*) FROM pricing_data")[0][0] == 93 * 3
    first_id = rows(stack, "SELECT min(id) FROM products")[0][0]
    explained = stack.get(f"/api/products/{first_id}/explain")
    assert explained.json()["marketplaces"]["ebay_de"]["price"]["steps"]


def test_the_same_delivery_twice_is_one_job_and_a_reimport_changes_nothing(stack):
    stack.start_api()
    stack.start_worker()
    batch = [product(i) for i in range(30)]

    first = stack.post("/api/import/webhook", batch, headers={"Idempotency-Key": "n8n-exec-1"})
    again = stack.post("/api/import/webhook", batch, headers={"Idempotency-Key": "n8n-exec-1"})
    assert first.json()["job_id"] == again.json()["job_id"]
    stack.wait_for_job(first.json()["job_id"])

    reimport = stack.post("/api/import/webhook", batch)
    job = stack.wait_for_job(reimport.json()["job_id"])

    assert job["status"] == "completed"
    assert job["outcomes"] == {"unchanged": 30}
    assert job["stages"]["score"] == {"done": 30, "failed": 0}
    assert rows(stack, "SELECT count(*) FROM import_jobs")[0][0] == 2
    assert rows(stack, "SELECT count(*) FROM products")[0][0] == 30
    # The stages skipped the unchanged products: no second price decision.
    assert rows(stack, "SELECT count(*) FROM pricing_data")[0][0] == 30 * 3


def test_redis_down_at_the_webhook_loses_nothing(stack, tmp_path):
    """Redis is stopped when the webhook arrives: 202 all the same; once Redis is back, the
    worker's sweeper sends the job again and it completes, with exact counts."""
    redis_server = LocalRedis(tmp_path / "redis", free_port(), durable=False)
    redis_server.start()
    stack.env["REDIS_URL"] = redis_server.url
    try:
        stack.start_api()
        stack.start_worker()
        redis_server.stop()

        response = stack.post("/api/import/webhook", [product(i) for i in range(25)])
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        assert rows(stack, "SELECT status FROM import_jobs")[0][0] == "pending"
        # Stored before the answer, as one body (the worker splits it into chunks once it runs).
        (body,) = rows(stack, "SELECT body FROM job_bodies")[0]
        assert len(stored_products(body)) == 25

        redis_server.start()
        job = stack.wait_for_job(job_id, timeout=90)

        assert job["status"] == "completed"
        assert job["processed_products"] == 25
        assert rows(stack, "SELECT count(*) FROM products")[0][0] == 25
    finally:
        stack.stop_all()
        redis_server.stop()


def test_health_names_the_part_that_is_down(stack, tmp_path):
    stack.env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    stack.start_api(expect_healthy=False)
    response = httpx.get(f"{stack.base_url}/health", timeout=10)
    assert response.status_code == 503
    assert response.json()["database"] == "connected"
    assert response.json()["redis"].startswith("error")

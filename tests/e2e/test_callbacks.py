"""End to end: a job's callback goes out from the worker process when the job ends, signed, retried
while the receiver (an n8n Wait node, here a local server) is not listening yet."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook

from tests.support.callback_receiver import CallbackReceiver
from tests.support.factories import product

pytestmark = pytest.mark.e2e

SECRET = "whsec_" + base64.b64encode(b"e2e-callback-signing-key").decode()


def test_a_job_calls_back_when_it_ends_signed_and_retried(stack):
    stack.env |= {"CALLBACK_SIGNING_SECRET": SECRET}
    stack.start_api()
    stack.start_worker()
    with CallbackReceiver() as receiver:
        receiver.answer(409)  # the Wait node is not listening yet
        options = {"callback_url": receiver.url(), "callback_headers": {"X-N8N-Key": "k"}}
        batch = {"source": "allegro", "products": [product(n) for n in range(3)], "options": options}

        job = stack.wait_for_job(stack.post("/api/import/webhook", batch).json()["job_id"])
        deadline = time.monotonic() + 30
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        received = receiver.received

    assert job["status"] == "completed"
    assert len(received) == 2, stack.tail_logs()
    summary = Webhook(SECRET).verify(received[1].body, received[1].headers)
    assert (summary["job_id"], summary["status"], summary["processed_products"]) == (
        job["id"],
        "completed",
        3,
    )
    assert summary["status_url"].endswith(f"/api/import/job/{job['id']}")
    assert received[1].headers["x-n8n-key"] == "k"
    deadline = time.monotonic() + 10
    while (status := stack.get(f"/api/import/job/{job['id']}").json())["callback"]["status"] != "delivered":
        assert time.monotonic() < deadline, status["callback"]
        time.sleep(0.2)
    assert [a["status_code"] for a in status["callback"]["attempts"]] == [409, 200]
    assert status["options"]["callback_headers"] == {"X-N8N-Key": "***"}
    assert "signature" not in status["callback"]["url"]

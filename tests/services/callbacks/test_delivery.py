"""One callback attempt: where it may go, how it is signed, and how its answer is read."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from services.callbacks.delivery import Attempt, deliver
from services.callbacks.network import CallbackRefused, address_problem, checked_address
from services.callbacks.schedule import next_step
from tests.support.callback_receiver import CallbackReceiver

SECRET = "whsec_" + base64.b64encode(b"callback-signing-key-for-tests").decode()
KEY = b"callback-signing-key-for-tests"
BODY = json.dumps({"type": "job.finished", "job_id": "j1", "status": "completed"}).encode()


@pytest.fixture
def receiver():
    with CallbackReceiver() as started:
        yield started


def send(url: str, **options: Any) -> Attempt:
    values: dict[str, Any] = {"webhook_id": "job_j1_completed", "key": KEY, "headers": {},
                              "timeout_seconds": 5, "allow_private": True} | options  # fmt: skip
    return deliver(url, BODY, **values)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "::1", "fd00:ec2::254", "fe80::1", "::ffff:10.0.0.1", "224.0.0.1"],
)  # fmt: skip
def test_addresses_inside_a_network_are_named(address):
    assert address_problem(address) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert address_problem(address) is None


def test_a_host_that_resolves_to_any_private_address_is_refused():
    def resolve(host, port):
        return ["93.184.216.34", "10.0.0.7"]  # one public, one not: refused all the same

    with pytest.raises(CallbackRefused, match=r"10\.0\.0\.7 is a private address"):
        checked_address("n8n.example.com", 443, allow_private=False, resolve=resolve)
    assert checked_address("n8n.example.com", 443, allow_private=True, resolve=resolve) == "93.184.216.34"


def test_a_delivery_is_signed_as_standard_webhooks_and_keeps_the_urls_query(receiver):
    attempt = send(receiver.url(), headers={"X-N8N-Auth": "header-auth-value"})

    assert attempt.outcome == "delivered"
    (request,) = receiver.received
    assert request.path == "/webhook-waiting/abc123?signature=s3cr3t"  # n8n's resume URL, as it is
    assert request.headers["x-n8n-auth"] == "header-auth-value"
    assert request.headers["content-type"] == "application/json"
    payload = Webhook(SECRET).verify(request.body, request.headers)  # the reference library
    assert payload["job_id"] == "j1"
    assert request.headers["webhook-id"] == "job_j1_completed"


def test_the_request_goes_to_the_address_that_was_checked(receiver):
    port = int(receiver.server_url.rsplit(":", 1)[1])
    looked_up = []

    def resolve(host, asked_port):
        looked_up.append((host, asked_port))
        return ["127.0.0.1"]

    attempt = send(f"http://n8n.internal.example:{port}/hook", resolve=resolve)

    assert attempt.outcome == "delivered"
    assert looked_up == [("n8n.internal.example", port)]
    assert receiver.received[0].headers["host"] == f"n8n.internal.example:{port}"


def test_a_private_address_is_refused_in_production_before_anything_is_sent(receiver):
    attempt = send(receiver.url(), allow_private=False)

    assert attempt.outcome == "failed"
    assert "127.0.0.1 is a loopback address" in (attempt.error or "")
    assert receiver.received == []


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "delivered"), (204, "delivered"), (409, "retry"), (429, "retry"), (500, "retry"), (503, "retry"),
     (404, "failed"), (401, "failed")],
)  # fmt: skip
def test_answers_are_read_as_delivered_retry_or_failed(receiver, status, outcome):
    receiver.answer(status)

    attempt = send(receiver.url())

    assert (attempt.outcome, attempt.status_code) == (outcome, status)


def test_a_redirect_is_not_followed(receiver):
    receiver.answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    attempt = send(receiver.url())

    assert attempt.outcome == "failed"
    assert "redirects are not followed" in (attempt.error or "")
    assert len(receiver.received) == 1


def test_nobody_listening_is_worth_another_try():
    attempt = send("http://127.0.0.1:9/hook", timeout_seconds=2)

    assert attempt.outcome == "retry"
    assert attempt.status_code is None


ENDED = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def retry_after(number: int, minutes_after_end: float, budget: float = 3600):
    attempt = Attempt("retry", 409, "HTTP 409", 3)
    return next_step(attempt, number, ENDED, ENDED + timedelta(minutes=minutes_after_end), budget)


def test_retries_back_off_and_stop_when_the_time_is_up():
    assert retry_after(1, 0).retry_in_seconds == 5
    assert retry_after(2, 0.1).retry_in_seconds == 15
    assert retry_after(6, 10).retry_in_seconds == 600  # at most 10 minutes apart
    assert retry_after(9, 55).final == "failed"  # the next try would fall after the hour
    assert next_step(Attempt("delivered", 200, None, 1), 1, ENDED, ENDED, 3600).final == "delivered"
    assert next_step(Attempt("failed", 404, "gone", 1), 1, ENDED, ENDED, 3600).final == "failed"

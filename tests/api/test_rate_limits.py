"""Rate limits in Redis: the webhook per client address, the rest per API key (or address), never
/health; 429 with Retry-After naming the limit, before the body is read; Redis down lets everything
through, and a Redis that does not answer holds up one request only."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import anyio
import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from api.rate_limit import REDIS_TIMEOUT_SECONDS
from devstack.servers import free_port
from models import ImportJob
from services.platform.settings import Settings, get_settings
from tests.support.api import AUTH
from tests.support.factories import product

WEBHOOK = "/api/import/webhook"
SECRET = {"X-Webhook-Secret": "test-secret"}


@pytest.fixture
def limited(make_app):
    """A client of an app with rate limits on (3 webhooks, 5 other requests a minute), counted in
    the suite's Redis (emptied around each test); settings changed by `changes`."""

    def make(*, headers: dict[str, str] | None = None, **changes):
        limits = {"rate_limit_enabled": True, "rate_limit_webhook": "3/minute", "rate_limit_api": "5/minute"}
        app = make_app(**{**limits, **changes})
        return TestClient(app, headers=headers if headers is not None else AUTH)

    return make


def send_webhooks(client, count, headers=None):
    return [
        client.post(
            WEBHOOK, content=orjson.dumps([product(n)]), headers={**SECRET, **(headers or {})}
        ).status_code
        for n in range(count)
    ]


class TestWebhook:
    def test_over_the_limit_is_429_with_retry_after_and_the_limit(self, limited, db_session):
        client = limited()
        assert send_webhooks(client, 3) == [202, 202, 202]

        response = client.post(WEBHOOK, content=orjson.dumps([product(9)]), headers=SECRET)

        assert response.status_code == 429
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= 60
        assert response.json() == {
            "detail": f"rate limit exceeded: 3/minute for webhook requests; retry in {retry_after} s",
            "limit": "3/minute",
            "budget": "webhook",
            "retry_after": retry_after,
        }
        assert db_session.scalar(select(func.count()).select_from(ImportJob)) == 3

    def test_counted_per_client_address_behind_the_proxy(self, limited):
        client = limited(trusted_proxy_hops=1)
        first = {"X-Forwarded-For": "203.0.113.7"}  # what the proxy appended
        second = {"X-Forwarded-For": "198.51.100.4"}

        assert send_webhooks(client, 4, first) == [202, 202, 202, 429]
        assert send_webhooks(client, 4, second) == [202, 202, 202, 429]

    def test_an_address_written_by_the_client_does_not_dodge_the_limit(self, limited):
        client = limited(trusted_proxy_hops=1)
        spoofed = [{"X-Forwarded-For": f"10.9.9.{n}, 203.0.113.7"} for n in range(4)]

        assert [send_webhooks(client, 1, headers)[0] for headers in spoofed] == [202, 202, 202, 429]

    def test_without_trusted_proxies_the_header_is_ignored(self, limited):
        client = limited()
        spoofed = [{"X-Forwarded-For": f"10.9.9.{n}"} for n in range(4)]

        assert [send_webhooks(client, 1, headers)[0] for headers in spoofed] == [202, 202, 202, 429]

    def test_an_api_key_does_not_move_the_webhook_to_another_budget(self, limited):
        client = limited()
        assert send_webhooks(client, 2, {"Authorization": "Bearer one"}) == [202, 202]
        assert send_webhooks(client, 2, {"Authorization": "Bearer two"}) == [202, 429]


class TestApi:
    def test_counted_per_api_key(self, limited):
        client = limited(headers={})
        first, second = {"Authorization": "Bearer key-one"}, {"X-API-Key": "key-two"}

        # Unknown keys are counted too (401 until the limit, then 429): guessing keys is limited.
        assert [client.get("/api/products", headers=first).status_code for _ in range(6)] == [401] * 5 + [429]
        assert client.get("/api/products", headers=second).status_code == 401
        assert client.get("/api/products", headers={"X-API-Key": "key-one"}).status_code == 429

    def test_without_a_key_counted_per_address(self, limited):
        client = limited(trusted_proxy_hops=1, headers={})
        assert [client.get("/api/rules/fields", headers={"X-Forwarded-For": "203.0.113.7"}).status_code
                for _ in range(6)] == [401] * 5 + [429]  # fmt: skip
        assert client.get("/api/rules/fields", headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 401

    def test_the_webhook_and_the_api_have_their_own_budgets(self, limited):
        client = limited()
        assert send_webhooks(client, 4) == [202, 202, 202, 429]
        assert client.get("/api/products").status_code == 200

    def test_429_names_the_limit_that_was_hit(self, limited):
        client = limited(rate_limit_api="10/hour;2/minute")
        statuses = [client.get("/api/products").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert client.get("/api/products").json()["limit"] == "2/minute"

    def test_health_is_never_limited(self, limited):
        client = limited(rate_limit_api="1/minute")
        assert {client.get("/health").status_code for _ in range(10)} == {200}


class TestRedisDown:
    def test_requests_go_through_and_a_warning_is_logged_once(self, limited, db_session, caplog):
        client = limited(redis_url=f"redis://127.0.0.1:{free_port()}/0")
        logging.getLogger().addHandler(caplog.handler)  # create_app set the handlers anew

        assert send_webhooks(client, 5) == [202] * 5
        assert client.get("/api/products").status_code == 200

        warnings = [
            r.msg
            for r in caplog.records
            if isinstance(r.msg, dict) and r.msg["event"] == "rate_limit.unavailable"
        ]
        assert len(warnings) == 1
        assert warnings[0]["action"] == "requests are not rate limited for 5 s"
        assert db_session.scalar(select(func.count()).select_from(ImportJob)) == 5


class TestBeforeTheBody:
    def test_a_limited_webhook_is_refused_without_reading_its_body(self, limited):
        client = limited()
        assert send_webhooks(client, 3) == [202, 202, 202]
        received: list[dict[str, Any]] = []
        sent: list[dict[str, Any]] = []

        async def receive():
            received.append({})
            return {"type": "http.request", "body": b"[" * 1_000_000, "more_body": True}

        async def send(message):
            sent.append(message)

        headers = [(b"host", b"testserver"), (b"content-type", b"application/json"),
                   (b"content-length", b"20000000"), (b"x-webhook-secret", b"test-secret")]  # fmt: skip
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": WEBHOOK, "raw_path": WEBHOOK.encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("testclient", 50000),
            "server": ("testserver", 80),
        }  # fmt: skip
        anyio.run(client.app, scope, receive, send)

        assert sent[0]["status"] == 429
        assert orjson.loads(sent[1]["body"])["budget"] == "webhook"
        assert received == []  # not one byte of the body was asked for


def rate_limit_warnings(caplog):
    return [
        r.msg
        for r in caplog.records
        if isinstance(r.msg, dict) and r.msg["event"] == "rate_limit.unavailable"
    ]


class TestRedisNotAnswering:
    def test_one_request_waits_for_the_timeout_the_next_ones_do_not(self, limited, caplog):
        with socket.create_server(("127.0.0.1", 0), backlog=16) as hung:  # connects, never answers
            client = limited(redis_url=f"redis://127.0.0.1:{hung.getsockname()[1]}/0")
            logging.getLogger().addHandler(caplog.handler)  # create_app set the handlers anew
            seconds = []
            for _ in range(4):
                started = time.perf_counter()
                assert client.get("/api/products").status_code == 200
                seconds.append(time.perf_counter() - started)

        assert seconds[0] >= REDIS_TIMEOUT_SECONDS
        assert max(seconds[1:]) < REDIS_TIMEOUT_SECONDS
        assert len(rate_limit_warnings(caplog)) == 1


class TestSettings:
    def test_off_in_tests_on_elsewhere(self):
        assert get_settings().rate_limits_on is False
        assert Settings(_env_file=None, app_env="development").rate_limits_on is True
        assert Settings(_env_file=None, app_env="test", rate_limit_enabled=True).rate_limits_on is True

    @pytest.mark.parametrize("value", ["lots", "120/fortnight", "/minute"])
    def test_a_limit_that_does_not_parse_stops_start_up(self, value):
        with pytest.raises(ValidationError, match="must be like 120/minute or 10/second;600/minute"):
            Settings(_env_file=None, rate_limit_webhook=value)

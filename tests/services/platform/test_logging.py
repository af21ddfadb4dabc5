"""Secrets never reach a log line: keys that name credentials, URL passwords, bearer tokens."""

from __future__ import annotations

import io
import logging

import orjson
import pytest
import structlog

from services.platform.logging import REDACTED, configure_logging, redact_secrets
from services.platform.settings import get_settings


def redacted(**event):
    return redact_secrets(None, "info", event)


class TestRedaction:
    @pytest.mark.parametrize(
        "key",
        ["authorization", "Authorization", "x-api-key", "X-Webhook-Secret", "webhook-signature", "api_key",
         "groq_api_key", "password", "secret", "webhook_secret", "access_token", "cookie"],
    )  # fmt: skip
    def test_values_of_credential_keys(self, key):
        assert redacted(**{key: "hunter2"})[key] == REDACTED

    def test_at_any_depth_and_in_header_pairs(self):
        event = redacted(
            headers={"Authorization": "Bearer abc", "user-agent": "n8n"},
            raw=[(b"x-api-key", b"k-123"), (b"accept", b"*/*")],
            nested={"config": {"groq_api_key": "gsk_1", "model": "llama"}},
        )
        assert event["headers"] == {"Authorization": REDACTED, "user-agent": "n8n"}
        assert event["raw"] == [(b"x-api-key", REDACTED), [b"accept", b"*/*"]]
        assert event["nested"] == {"config": {"groq_api_key": REDACTED, "model": "llama"}}

    def test_passwords_in_urls_and_bearer_tokens_in_text(self):
        event = redacted(
            event="connecting to postgresql+psycopg://app:s3cr3t@db.supabase.co:5432/postgres",
            detail="redis://:r3d1s@cache:6379/0 refused; sent Authorization: Bearer sk_live_123",
        )
        assert (
            event["event"] == "connecting to postgresql+psycopg://app:[redacted]@db.supabase.co:5432/postgres"
        )
        assert (
            event["detail"]
            == "redis://:[redacted]@cache:6379/0 refused; sent Authorization: Bearer [redacted]"
        )

    def test_everything_else_is_kept(self):
        event = {
            "event": "ai.copy_written",
            "prompt_tokens": 120,
            "total_tokens": 300,
            "url": "https://x.pl/a",
        }
        assert redacted(**event) == event


class TestConfiguredLogging:
    @pytest.fixture
    def json_logs(self):
        """The product's logging, in JSON, into a buffer; the suite's logging is restored after."""
        root = logging.getLogger()
        saved = (root.handlers[:], root.level, structlog.get_config())
        configure_logging(get_settings().model_copy(update={"log_json": True, "log_level": "INFO"}))
        buffer = io.StringIO()
        [handler] = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
        yield lambda: [orjson.loads(line) for line in buffer.getvalue().splitlines()]
        root.handlers[:], level, config = saved
        root.setLevel(level)
        structlog.configure(**config)

    def test_structlog_stdlib_and_tracebacks_are_redacted(self, json_logs):
        structlog.get_logger("test").info("auth.checked", authorization="Bearer abc", caller="key:ab12")
        logging.getLogger("sqlalchemy.engine").warning("url postgresql://app:pw-123@db/x")
        try:
            raise RuntimeError("cannot reach postgresql://app:pw-123@db/x")
        except RuntimeError:
            structlog.get_logger("test").exception("boom")

        structured, foreign, failed = json_logs()

        assert (structured["authorization"], structured["caller"]) == (REDACTED, "key:ab12")
        assert foreign["event"] == "url postgresql://app:[redacted]@db/x"
        assert "RuntimeError: cannot reach postgresql://app:[redacted]@db/x" in failed["exception"]
        assert "pw-123" not in str([structured, foreign, failed])

    def test_requests_urls_are_not_logged_with_their_query(self, json_logs):
        # httpx logs each request's URL at INFO; a callback URL's query may be a secret (n8n's
        # resume URL carries its signature).
        logging.getLogger("httpx").info("HTTP Request: POST http://n8n/webhook-waiting/3?signature=s3cr3t")
        logging.getLogger("httpx").warning("still said: a warning")

        assert [line["event"] for line in json_logs()] == ["still said: a warning"]

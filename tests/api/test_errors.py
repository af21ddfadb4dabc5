"""Unexpected errors: 500 or 503 with a plain message and the request id; never a trace, SQL or URL."""

from __future__ import annotations

import logging

import psycopg
import pytest
import redis.exceptions
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.deps import get_session
from devstack.servers import free_port
from tests.support.api import AUTH

LEAKS = ("Traceback", "SELECT", "postgresql", "secret-password", "File ")


def raising(exc: Exception):
    def route():
        raise exc

    return route


@pytest.fixture
def app_raising(make_app):
    """A client of a new app with one route that raises what the test gives it."""

    def make(exc: Exception):
        app = make_app()
        app.add_api_route("/boom", raising(exc))
        return TestClient(app, headers={**AUTH, "X-Request-ID": "req-42"})

    return make


class TestInternalError:
    def test_a_bug_is_500_with_the_request_id_only(self, app_raising, caplog):
        client = app_raising(RuntimeError("postgresql://app:secret-password@db/x SELECT * FROM products"))
        logging.getLogger().addHandler(caplog.handler)  # create_app set the handlers anew

        response = client.get("/boom")

        assert response.status_code == 500
        assert response.json() == {"detail": "internal error", "request_id": "req-42"}
        assert response.headers["x-request-id"] == "req-42"
        assert not any(leak in response.text for leak in LEAKS)
        [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert record.msg["event"] == "api.internal_error"
        assert record.msg["request_id"] == "req-42"
        assert "secret-password" not in str(record.msg)  # redacted in the traceback too

    def test_a_failed_statement_is_500_without_its_sql(self, app_raising, db_session):
        try:
            db_session.execute(text("SELECT 1/0 AS secret_column"))
        except Exception as exc:  # sqlalchemy's DataError, with the statement in its text
            error = exc
        db_session.rollback()

        response = app_raising(error).get("/boom")

        assert (response.status_code, response.json()["detail"]) == (500, "internal error")
        assert "secret_column" not in response.text


class TestDependencyDown:
    @pytest.fixture
    def dead_database(self, redis_client):
        """The app on a database that refuses connections, as while Postgres restarts."""
        from api.app import app

        engine = create_engine(f"postgresql+psycopg://app:secret-password@127.0.0.1:{free_port()}/x",
                               connect_args={"connect_timeout": 2})  # fmt: skip
        app.dependency_overrides[get_session] = lambda: Session(engine)
        yield TestClient(app, headers=AUTH)
        app.dependency_overrides.clear()
        engine.dispose()

    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", "/api/products"), ("GET", "/api/products/1"), ("POST", "/api/import/webhook")],
    )
    def test_database_down_is_503_with_retry_after(self, dead_database, method, path):
        response = dead_database.request(method, path, json=[{"source_id": "1", "title": "x"}],
                                         headers={"X-Webhook-Secret": "test-secret"})  # fmt: skip

        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        body = response.json()
        assert body["detail"] == "database unavailable"
        assert body["request_id"] == response.headers["x-request-id"]
        assert not any(leak in response.text for leak in LEAKS)

    @pytest.mark.parametrize(
        ("error", "detail"),
        [
            (psycopg.OperationalError("server closed the connection unexpectedly"), "database unavailable"),
            (redis.exceptions.ConnectionError("Error 111 connecting to redis:6379"), "redis unavailable"),
        ],
    )
    def test_other_connection_errors_are_503(self, app_raising, error, detail):
        response = app_raising(error).get("/boom")
        assert (response.status_code, response.json()["detail"]) == (503, detail)


def test_a_method_a_route_does_not_take_is_405_naming_the_ones_it_does(client):
    answer = client.delete("/api/import/webhook")

    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert client.put("/health").headers["allow"] == "GET"

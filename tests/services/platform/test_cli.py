"""`listing-pipeline api-keys`: create (the key printed once, never logged), list, revoke."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from models import ApiKey
from services.platform import cli


@pytest.fixture
def run(db_session, monkeypatch, capsys):
    """Runs `listing-pipeline ...` on the test's rolled-back session; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(cli, "open_session", lambda: contextlib.nullcontext(db_session))
    # The command sets the process's logging up; configured again here, loggers cached by earlier
    # tests would escape `capture_logs` in later ones.
    monkeypatch.setattr(cli, "_start_logging", lambda: None)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def create(run, name: str = "n8n", scope: str = "write") -> str:
    code, out, _ = run("api-keys", "create", "--name", name, "--scope", scope)
    assert code == 0
    key: str = out.strip().splitlines()[-1]
    return key


class TestCreate:
    def test_prints_the_key_once_and_stores_its_hash(self, run, db_session):
        with capture_logs() as logs:
            code, out, err = run("api-keys", "create", "--name", "n8n production", "--scope", "read")

        assert code == 0
        key = out.strip().splitlines()[-1]
        assert key.startswith("lpk_")
        row = db_session.scalar(select(ApiKey))
        assert (row.name, row.scope, row.prefix) == ("n8n production", "read", key[:12])
        assert f"Created API key {row.prefix}" in out
        assert (out + err).count(key) == 1  # the one line that prints it
        # Logged with the prefix, never the key.
        assert [(e["event"], e["prefix"], e["name"]) for e in logs] == [
            ("api_keys.created", row.prefix, "n8n production")
        ]
        assert key not in repr(logs)

    def test_the_scope_must_be_read_or_write(self, run):
        with pytest.raises(SystemExit):
            run("api-keys", "create", "--name", "x", "--scope", "admin")

    def test_a_blank_name_is_refused(self, run, db_session):
        code, _, err = run("api-keys", "create", "--name", " ", "--scope", "read")
        assert code == 2
        assert "name" in err
        assert db_session.scalar(select(ApiKey)) is None


class TestList:
    def test_shows_prefixes_and_never_the_keys(self, run):
        keys = [create(run, "dashboard", "read"), create(run, "n8n", "write")]
        code, out, _ = run("api-keys", "list")

        assert code == 0
        for key in keys:
            assert key[:12] in out
            assert key not in out
        assert "dashboard" in out
        assert "write" in out

    def test_with_no_keys_says_so(self, run):
        assert "No API keys" in run("api-keys", "list")[1]


class TestRevoke:
    @pytest.mark.parametrize("by", ["prefix", "id"])
    def test_by_prefix_or_id(self, run, db_session, by):
        key = create(run)
        row = db_session.scalar(select(ApiKey))
        code, out, _ = run("api-keys", "revoke", row.prefix if by == "prefix" else str(row.id))

        assert code == 0
        assert f"Revoked API key {key[:12]}" in out
        db_session.refresh(row)
        assert row.revoked_at is not None

    def test_twice_says_it_already_was(self, run):
        key = create(run)
        run("api-keys", "revoke", key[:12])
        code, out, _ = run("api-keys", "revoke", key[:12])
        assert code == 0
        assert "already revoked" in out

    def test_an_unknown_key_is_an_error(self, run):
        code, _, err = run("api-keys", "revoke", "lpk_nothing1")
        assert code == 1
        assert "no API key with the id or prefix 'lpk_nothing1'" in err

    def test_a_revoked_key_no_longer_opens_the_api(self, run, anonymous_client):
        key = create(run, "laptop", "read")
        assert anonymous_client.get("/api/products", headers={"X-API-Key": key}).status_code == 200
        run("api-keys", "revoke", key[:12])
        assert anonymous_client.get("/api/products", headers={"X-API-Key": key}).status_code == 401

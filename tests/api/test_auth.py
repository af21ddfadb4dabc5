"""Who may do what: API keys on every route but the webhook's and /health, scopes, the webhook's
secret or Standard Webhooks signature, and the job that the webhook's credential may poll."""

from __future__ import annotations

import logging
import re
import time
import uuid

import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text

from api.app import app
from models import ImportJob
from services.access import api_keys
from services.access.api_keys import Scope
from services.access.webhook_signatures import sign
from services.platform.settings import get_settings, signing_key
from tests.support.api import API_KEY
from tests.support.factories import product

WEBHOOK = "/api/import/webhook"
WEBHOOK_SECRET = {"X-Webhook-Secret": "test-secret"}
PUBLIC = {("POST", WEBHOOK), ("GET", "/health")}
SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SIGNING_SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LW9sZA=="


def api_routes() -> list[tuple[str, str]]:
    """Every route of the API as (method, path), path parameters filled with something plausible."""
    routes: list[tuple[str, str]] = []
    for template, operations in app.openapi()["paths"].items():
        path = re.sub(r"\{[^}]+\}", "1", template.replace("{job_id}", str(uuid.uuid4())))
        methods = [method.upper() for method in operations]
        routes.extend((method, path) for method in methods if (method, template) not in PUBLIC)
    return sorted(routes)


PROTECTED = api_routes()
WRITE_ROUTES = [(method, path) for method, path in PROTECTED if method != "GET"]
READ_ROUTES = [
    "/api/products",
    "/api/products/stats/summary",
    "/api/pricing-profiles",
    "/api/rules",
    "/api/rules/fields",
    "/api/rules/templates",
    "/api/import/jobs",
]


def make_key(db_session, scope: Scope, name: str = "dashboard") -> str:
    return api_keys.create_key(db_session, name, scope).key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class TestEveryRouteNeedsAKey:
    def test_the_route_list_covers_every_kind_of_route(self):
        prefixes = {path.split("/")[2] for _, path in PROTECTED}
        assert prefixes == {"import", "products", "pricing-profiles", "rules", "ai", "export"}
        assert ("POST", "/api/import/batch") in PROTECTED
        assert any(method == "DELETE" for method, _ in PROTECTED)

    @pytest.mark.parametrize(("method", "path"), PROTECTED)
    def test_without_a_key_it_is_401_saying_what_is_expected(self, anonymous_client, method, path):
        response = anonymous_client.request(method, path)
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer <key>" in response.json()["detail"]
        assert "X-API-Key" in response.json()["detail"]

    @pytest.mark.parametrize(("method", "path"), PROTECTED)
    def test_with_a_wrong_key_it_is_401(self, anonymous_client, method, path):
        response = anonymous_client.request(method, path, headers=bearer("lpk_" + "x" * 43))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["detail"].startswith("invalid API key")

    @pytest.mark.parametrize(("method", "path"), WRITE_ROUTES)
    def test_a_read_key_on_a_write_route_is_403(self, anonymous_client, db_session, method, path):
        response = anonymous_client.request(method, path, headers=bearer(make_key(db_session, Scope.READ)))
        assert response.status_code == 403
        assert "read scope" in response.json()["detail"]

    def test_health_and_the_docs_need_no_key(self, anonymous_client):
        assert anonymous_client.get("/health").status_code == 200
        assert anonymous_client.get("/openapi.json").status_code == 200


class TestKeys:
    @pytest.mark.parametrize("path", READ_ROUTES)
    def test_a_read_key_reads(self, anonymous_client, db_session, path):
        response = anonymous_client.get(path, headers=bearer(make_key(db_session, Scope.READ)))
        assert response.status_code == 200, response.text

    def test_a_write_key_writes(self, anonymous_client, db_session):
        key = make_key(db_session, Scope.WRITE)
        response = anonymous_client.post("/api/import/batch", json=[product(1)], headers=bearer(key))
        assert response.status_code == 202
        assert anonymous_client.get(response.json()["status_url"], headers=bearer(key)).status_code == 200

    def test_bearer_and_x_api_key_both_work(self, anonymous_client, db_session):
        key = make_key(db_session, Scope.READ)
        assert anonymous_client.get("/api/products", headers=bearer(key)).status_code == 200
        assert anonymous_client.get("/api/products", headers={"X-API-Key": key}).status_code == 200
        lower_case = {"Authorization": f"bearer {key}"}
        assert anonymous_client.get("/api/products", headers=lower_case).status_code == 200

    def test_another_authorization_scheme_is_no_key(self, anonymous_client):
        response = anonymous_client.get("/api/products", headers={"Authorization": f"Basic {API_KEY}"})
        assert response.status_code == 401
        assert response.json()["detail"].startswith("missing API key")

    def test_the_bootstrap_key_of_the_settings_has_the_write_scope(self, anonymous_client):
        assert anonymous_client.get("/api/products", headers={"X-API-Key": API_KEY}).status_code == 200
        response = anonymous_client.post("/api/import/batch", json=[product(1)], headers=bearer(API_KEY))
        assert response.status_code == 202

    def test_without_a_bootstrap_key_its_old_value_is_refused(self, anonymous_client, monkeypatch):
        monkeypatch.setattr(get_settings(), "api_key", SecretStr(""))
        assert anonymous_client.get("/api/products", headers=bearer(API_KEY)).status_code == 401
        assert anonymous_client.get("/api/products", headers=bearer("")).status_code == 401

    def test_a_revoked_key_is_401(self, anonymous_client, db_session):
        created = api_keys.create_key(db_session, "old laptop", Scope.WRITE)
        api_keys.revoke(db_session, created.row)
        response = anonymous_client.get("/api/products", headers=bearer(created.key))
        assert response.status_code == 401
        assert f"API key {created.row.prefix} was revoked" in response.json()["detail"]

    def test_last_used_at_is_recorded_at_most_once_a_minute(self, anonymous_client, db_session):
        created = api_keys.create_key(db_session, "dashboard", Scope.READ)
        assert created.row.last_used_at is None

        anonymous_client.get("/api/products", headers=bearer(created.key))
        db_session.refresh(created.row)
        first = created.row.last_used_at
        assert first is not None

        db_session.execute(text("UPDATE api_keys SET last_used_at = now() - interval '30 seconds'"))
        anonymous_client.get("/api/products", headers=bearer(created.key))
        db_session.refresh(created.row)
        assert created.row.last_used_at < first  # within the minute: not written again

        db_session.execute(text("UPDATE api_keys SET last_used_at = now() - interval '61 seconds'"))
        anonymous_client.get("/api/products", headers=bearer(created.key))
        db_session.refresh(created.row)
        assert created.row.last_used_at == first  # now() of the test's transaction

    def test_a_rejected_key_is_not_logged(self, anonymous_client, caplog):
        caplog.set_level(logging.INFO)
        presented = "lpk_" + "s3cr3t" * 7
        assert anonymous_client.get("/api/products", headers=bearer(presented)).status_code == 401
        assert "auth.rejected" in caplog.text
        assert "s3cr3t" not in caplog.text


class TestJobPolling:
    def job_id(self, client) -> str:
        response = client.post(WEBHOOK, json=[product(1)], headers=WEBHOOK_SECRET)
        return str(response.json()["job_id"])

    def test_the_webhook_secret_may_poll_a_job(self, client, anonymous_client):
        job_id = self.job_id(client)
        response = anonymous_client.get(f"/api/import/job/{job_id}", headers=WEBHOOK_SECRET)
        assert response.status_code == 200
        assert response.json()["id"] == job_id

    def test_a_wrong_webhook_secret_is_401(self, client, anonymous_client):
        job_id = self.job_id(client)
        response = anonymous_client.get(f"/api/import/job/{job_id}", headers={"X-Webhook-Secret": "nope"})
        assert response.status_code == 401
        assert "invalid webhook secret" in response.json()["detail"]

    def test_nothing_at_all_is_401_naming_both_ways(self, client, anonymous_client):
        response = anonymous_client.get(f"/api/import/job/{self.job_id(client)}")
        assert response.status_code == 401
        assert "API key" in response.json()["detail"]
        assert "X-Webhook-Secret" in response.json()["detail"]

    def test_the_webhook_secret_opens_nothing_else(self, anonymous_client):
        response = anonymous_client.get("/api/products", headers=WEBHOOK_SECRET)
        assert response.status_code == 401


def signed(body: bytes, secret: str = SIGNING_SECRET, msg_id: str = "msg_1", timestamp: int | None = None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(signing_key(secret), msg_id, timestamp, body),
    }


@pytest.fixture
def signing_secrets(monkeypatch):
    monkeypatch.setattr(get_settings(), "webhook_signing_secrets", [SecretStr(SIGNING_SECRET)])


def job_count(db_session) -> int:
    return int(db_session.scalar(select(func.count()).select_from(ImportJob)))


@pytest.mark.usefixtures("signing_secrets")
class TestWebhookSignatures:
    # Spaces and key order as the sender wrote them: the signature is over these bytes, not a re-encoding.
    BODY = b'[ {"title": "S\\u0142uchawki Sony", "source_id": "sig-1"} ]'

    def test_a_valid_signature_is_202_without_any_other_credential(self, anonymous_client, db_session):
        response = anonymous_client.post(WEBHOOK, content=self.BODY, headers=signed(self.BODY))
        assert response.status_code == 202, response.text
        job = db_session.get(ImportJob, uuid.UUID(response.json()["job_id"]))
        assert job.total_products == 1

    def test_a_wrong_signature_is_401(self, anonymous_client, db_session):
        headers = signed(self.BODY, secret=OLD_SIGNING_SECRET)
        response = anonymous_client.post(WEBHOOK, content=self.BODY, headers=headers)
        assert response.status_code == 401
        assert "does not match" in response.json()["detail"]
        assert job_count(db_session) == 0

    def test_a_body_changed_after_signing_is_401(self, anonymous_client):
        headers = signed(self.BODY)
        changed = self.BODY.replace(b"sig-1", b"sig-2")
        response = anonymous_client.post(WEBHOOK, content=changed, headers=headers)
        assert response.status_code == 401

    def test_an_expired_signature_is_401_saying_so(self, anonymous_client):
        headers = signed(self.BODY, timestamp=int(time.time()) - 6 * 60)
        response = anonymous_client.post(WEBHOOK, content=self.BODY, headers=headers)
        assert response.status_code == 401
        assert "more than 5 minutes" in response.json()["detail"]

    def test_an_incomplete_signature_is_401_naming_what_is_missing(self, anonymous_client):
        headers = signed(self.BODY)
        del headers["webhook-timestamp"]
        response = anonymous_client.post(WEBHOOK, content=self.BODY, headers=headers)
        assert response.status_code == 401
        assert "missing webhook-timestamp" in response.json()["detail"]

    def test_the_webhook_id_is_the_idempotency_key(self, anonymous_client, db_session, redis_client):
        first = anonymous_client.post(WEBHOOK, content=self.BODY, headers=signed(self.BODY, msg_id="msg_42"))
        again = anonymous_client.post(WEBHOOK, content=self.BODY, headers=signed(self.BODY, msg_id="msg_42"))
        other = anonymous_client.post(WEBHOOK, content=self.BODY, headers=signed(self.BODY, msg_id="msg_43"))

        assert first.status_code == again.status_code == 202
        assert again.json() == {**first.json(), "created": False}
        assert other.json()["job_id"] != first.json()["job_id"]
        assert job_count(db_session) == 2
        assert redis_client.llen("dramatiq:pipeline") == 2

    def test_an_idempotency_key_wins_over_the_webhook_id(self, anonymous_client, db_session):
        for msg_id in ("msg_1", "msg_2"):
            headers = {**signed(self.BODY, msg_id=msg_id), "Idempotency-Key": "run-7"}
            assert anonymous_client.post(WEBHOOK, content=self.BODY, headers=headers).status_code == 202
        assert db_session.scalar(select(ImportJob.idempotency_key)) == "run-7"
        assert job_count(db_session) == 1

    def test_a_signed_body_over_the_limit_is_413(self, anonymous_client, monkeypatch):
        monkeypatch.setattr(get_settings(), "max_body_bytes", 20)
        response = anonymous_client.post(WEBHOOK, content=self.BODY, headers=signed(self.BODY))
        assert response.status_code == 413

    def test_without_signing_secrets_a_signature_is_refused_saying_why(self, anonymous_client, monkeypatch):
        monkeypatch.setattr(get_settings(), "webhook_signing_secrets", [])
        response = anonymous_client.post(WEBHOOK, content=self.BODY, headers=signed(self.BODY))
        assert response.status_code == 401
        assert "WEBHOOK_SIGNING_SECRETS" in response.json()["detail"]

    def test_an_api_key_is_not_a_webhook_credential(self, client):
        response = client.post(WEBHOOK, content=self.BODY, headers={"Content-Type": "application/json"})
        assert response.status_code == 401
        assert "X-Webhook-Secret" in response.json()["detail"]


class TestRotation:
    BODY = orjson.dumps([product(1)])

    def test_the_old_and_the_new_webhook_secret_are_both_accepted(self, anonymous_client, monkeypatch):
        monkeypatch.setattr(get_settings(), "webhook_secret_previous", SecretStr("old-secret"))
        for secret in ("test-secret", "old-secret"):
            response = anonymous_client.post(WEBHOOK, content=self.BODY, headers={"X-Webhook-Secret": secret})
            assert response.status_code == 202
            job = anonymous_client.get(response.json()["status_url"], headers={"X-Webhook-Secret": secret})
            assert job.status_code == 200
        response = anonymous_client.post(WEBHOOK, content=self.BODY, headers={"X-Webhook-Secret": "older"})
        assert response.status_code == 401

    def test_once_the_previous_secret_is_dropped_it_is_refused(self, anonymous_client):
        headers = {"X-Webhook-Secret": "old-secret"}
        response = anonymous_client.post(WEBHOOK, content=self.BODY, headers=headers)
        assert response.status_code == 401

    def test_the_old_and_the_new_signing_secret_are_both_accepted(self, anonymous_client, monkeypatch):
        secrets = [SecretStr(SIGNING_SECRET), SecretStr(OLD_SIGNING_SECRET)]
        monkeypatch.setattr(get_settings(), "webhook_signing_secrets", secrets)
        for n, secret in enumerate((SIGNING_SECRET, OLD_SIGNING_SECRET)):
            headers = signed(self.BODY, secret=secret, msg_id=f"msg_{n}")
            assert anonymous_client.post(WEBHOOK, content=self.BODY, headers=headers).status_code == 202

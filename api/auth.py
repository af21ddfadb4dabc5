"""Who may call what: API keys on every route but the webhook's and /health; the webhook's secret
or signature.

The rules:
- An API key comes as `Authorization: Bearer <key>` or `X-API-Key: <key>` (the bearer one counts
  when both are sent). It is a stored key (services.access.api_keys) or the settings' bootstrap `API_KEY`,
  which has the write scope.
- GET and HEAD need the read scope; every other method changes data and needs write: a read key
  gets 403. Missing, unknown or revoked key: 401 with `WWW-Authenticate: Bearer`, saying what is
  expected.
- `GET /api/import/job/{id}` also takes `X-Webhook-Secret`, so the credential that posts a batch
  (n8n's Header Auth sends exactly one header) can poll its job.
- The webhook takes `X-Webhook-Secret` (the current or, during a rotation, the previous secret) or,
  when that header is not sent, a Standard Webhooks signature over the raw body.
- Keys and secrets are compared in constant time (or by their hash) and never logged; what is
  logged is who called: a key's prefix, `bootstrap`, `webhook-secret` or `webhook-signature`.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from services.access import api_keys, webhook_signatures
from services.access.api_keys import Scope
from services.platform.settings import Settings

log = structlog.get_logger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXPECTED_KEY = "send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"

# Declared as security schemes, so /docs offers to send them; they never refuse on their own.
bearer_scheme = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
ApiKeyHeaderDep = Annotated[str | None, Depends(api_key_header)]
WebhookSecretHeader = Annotated[str | None, Header(description="The webhook's shared secret")]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: `label` is safe to log (a key's prefix, never the key)."""

    label: str
    scope: Scope
    name: str


@dataclass(frozen=True, slots=True)
class WebhookSender:
    """An authenticated webhook delivery; `webhook_id` is the sender's message id, if it sent one."""

    method: str  # "webhook-secret" or "webhook-signature"
    webhook_id: str | None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def _matches_any(presented: str, expected: Iterable[str]) -> bool:
    # Constant time, and every candidate compared: how long it takes tells nothing about a guess.
    results = [hmac.compare_digest(presented.encode(), secret.encode()) for secret in expected]
    return any(results)


def _presented_key(bearer: HTTPAuthorizationCredentials | None, x_api_key: str | None) -> str | None:
    if bearer is not None:
        return bearer.credentials
    return x_api_key or None


def _caller_for_key(session: Session, settings: Settings, presented: str) -> Caller:
    bootstrap = settings.api_key.get_secret_value()
    if bootstrap and _matches_any(presented, [bootstrap]):
        return Caller(label="bootstrap", scope=Scope.WRITE, name="API_KEY")
    row = api_keys.find_key(session, presented)
    if row is None:
        raise _unauthorized(f"invalid API key: {EXPECTED_KEY}")
    if row.revoked_at is not None:
        raise _unauthorized(f"API key {row.prefix} was revoked: {EXPECTED_KEY}")
    if api_keys.record_use(session, row):
        session.commit()  # before the route's own work: its transaction starts clean
    return Caller(label=row.prefix, scope=Scope(row.scope), name=row.name)


def _identify(request: Request, caller: Caller) -> Caller:
    request.state.caller = caller  # for whoever needs it later (rate limits by key)
    structlog.contextvars.bind_contextvars(caller=caller.label)
    return caller


async def authenticate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: BearerDep,
    x_api_key: ApiKeyHeaderDep,
) -> Caller:
    """The caller of an API-key route: 401 unless a valid, unrevoked key came with the request."""
    presented = _presented_key(bearer, x_api_key)
    if presented is None:
        raise _unauthorized(f"missing API key: {EXPECTED_KEY}")
    try:
        caller = await run_in_threadpool(_caller_for_key, session, settings, presented)
    except HTTPException as exc:
        log.info("auth.rejected", reason=exc.detail)
        raise
    return _identify(request, caller)


CallerDep = Annotated[Caller, Depends(authenticate)]


def require_access(request: Request, caller: CallerDep) -> Caller:
    """Read for GET and HEAD, write for everything else: 403 for a read key on a write route."""
    needed = Scope.READ if request.method in READ_METHODS else Scope.WRITE
    if not caller.scope.allows(needed):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"API key {caller.label} has the {caller.scope} scope; {request.method} needs a {needed} key",
        )
    return caller


async def require_job_access(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: BearerDep,
    x_api_key: ApiKeyHeaderDep,
    x_webhook_secret: WebhookSecretHeader = None,
) -> Caller:
    """A job's status: an API key if one is sent, otherwise the webhook's secret."""
    if _presented_key(bearer, x_api_key) is not None:
        caller = await authenticate(request, session, settings, bearer, x_api_key)
        return require_access(request, caller)
    if x_webhook_secret is None:
        raise _unauthorized(f"missing API key: {EXPECTED_KEY}, or the webhook's X-Webhook-Secret")
    if not _matches_any(x_webhook_secret, settings.webhook_secrets):
        raise _unauthorized(f"invalid webhook secret: send X-Webhook-Secret, or {EXPECTED_KEY}")
    return _identify(request, Caller(label="webhook-secret", scope=Scope.READ, name="X-Webhook-Secret"))


async def verify_webhook(
    request: Request, settings: SettingsDep, x_webhook_secret: WebhookSecretHeader = None
) -> WebhookSender:
    """The webhook's sender: `X-Webhook-Secret` when sent, otherwise a Standard Webhooks signature."""
    webhook_id = request.headers.get("webhook-id") or None
    if x_webhook_secret is not None:
        if not _matches_any(x_webhook_secret, settings.webhook_secrets):
            raise _rejected("invalid webhook secret")
        method = "webhook-secret"
    elif webhook_signatures.has_signature_headers(request.headers):
        keys = settings.webhook_signing_keys
        if not keys:
            raise _rejected("signed deliveries are not accepted: no WEBHOOK_SIGNING_SECRETS is configured")
        # The raw bytes, read once (within MAX_BODY_BYTES: api.body.BodyLimits bounds every body) and
        # kept by Starlette for the route's own reader: the bytes verified are the bytes parsed.
        body = await request.body()
        try:
            webhook_signatures.verify(keys, request.headers, body, now=time.time())
        except webhook_signatures.SignatureRejected as exc:
            raise _rejected(str(exc)) from None
        method = "webhook-signature"
    else:
        raise _rejected(
            "missing X-Webhook-Secret header (or a Standard Webhooks signature: webhook-id,"
            " webhook-timestamp, webhook-signature)"
        )
    structlog.contextvars.bind_contextvars(caller=method)
    return WebhookSender(method=method, webhook_id=webhook_id)


def _rejected(detail: str) -> HTTPException:
    log.info("auth.webhook_rejected", reason=detail)
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail)


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or an unknown or revoked one"},
    403: {"description": "A read key on a route that changes data"},
}
ApiKeyAccess = Depends(require_access)
JobAccess = Depends(require_job_access)
WebhookSenderDep = Annotated[WebhookSender, Depends(verify_webhook)]

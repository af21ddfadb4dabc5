"""The import routes: the webhook, the seed's product and batch imports, and job status."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.auth import AUTH_RESPONSES, ApiKeyAccess, JobAccess, WebhookSenderDep
from api.body import read_json_body
from api.deps import SessionDep, SettingsDep
from models import ItemStatus
from schemas.imports import ImportAccepted, JobRead, ProductImported
from services.imports.envelope import (
    ImportRequest,
    InvalidEnvelope,
    TooManyProducts,
    body_json_schema,
    parse_import_body,
    product_json_schema,
)
from services.imports.intake import (
    AcceptedImport,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    UnknownPricingProfile,
    accept_import,
)
from services.pipeline import jobs, single_product
from services.platform.settings import Settings
from workers import messages
from workers.messages import send_stage
from workers.outbox import send_after_commit

router = APIRouter(prefix="/api/import", tags=["import"])
log = structlog.get_logger(__name__)

IDEMPOTENCY_KEY_MAX_LENGTH = 255
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="Repeat it to get the first job back instead of a new one",
    ),
]
SourceQuery = Annotated[
    str | None, Query(max_length=50, description="Source platform when the body does not say")
]
DEFAULT_SOURCE = "allegro"


# Kept on the webhook row to tell deliveries apart; never the secret or a signature.
RECORDED_HEADERS = ("user-agent", "content-type", "idempotency-key", "x-request-id", "webhook-id")


def json_request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def status_url(job_id: uuid.UUID) -> str:
    return f"/api/import/job/{job_id}"


def _parse(data: Any, settings: Settings, source: str | None) -> ImportRequest:
    try:
        return parse_import_body(
            data, default_source=source or DEFAULT_SOURCE, max_products=settings.max_products_per_request
        )
    except TooManyProducts as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    except InvalidEnvelope as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


def _store(
    session: Session,
    import_request: ImportRequest,
    *,
    sha256: str,
    size: int,
    chunk_size: int,
    idempotency_key: str | None,
    request_id: str | None,
    headers: dict[str, str],
) -> AcceptedImport:
    try:
        accepted = accept_import(
            session,
            import_request,
            body_sha256=sha256,
            body_bytes=size,
            chunk_size=chunk_size,
            idempotency_key=idempotency_key,
            headers=headers,
        )
    except (IdempotencyKeyReused, UnknownPricingProfile) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except IdempotencyKeyInProgress as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc), headers={"Retry-After": "1"}) from None
    if accepted.created:
        message = messages.import_job(str(accepted.job_id), request_id=request_id)
        send_after_commit(session, message)
    session.commit()
    return accepted


async def _accept_batch(
    request: Request,
    session: Session,
    settings: Settings,
    idempotency_key: str | None,
    source: str | None,
) -> JSONResponse:
    body = await read_json_body(request, settings.max_body_bytes)
    import_request = _parse(body.data, settings, source)
    accepted = await run_in_threadpool(
        _store,
        session,
        import_request,
        sha256=body.sha256,
        size=body.size,
        chunk_size=settings.import_chunk_size,
        idempotency_key=idempotency_key,
        request_id=structlog.contextvars.get_contextvars().get("request_id"),
        headers={name: request.headers[name][:500] for name in RECORDED_HEADERS if name in request.headers},
    )
    structlog.contextvars.bind_contextvars(job_id=str(accepted.job_id))
    log.info("import.job_accepted", received=accepted.received, created=accepted.created,
             source=import_request.source)  # fmt: skip
    answer = ImportAccepted(
        job_id=accepted.job_id,
        status=accepted.status,
        status_url=status_url(accepted.job_id),
        received=accepted.received,
        created=accepted.created,
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": ImportAccepted, "description": "Stored; the import runs in the background"},
    401: {"description": "Missing or wrong credentials (the webhook: X-Webhook-Secret or a signature)"},
    403: {"description": "A read API key on a write route"},
    409: {"description": "A request with this Idempotency-Key is still being stored: retry"},
    413: {"description": "Body or product count over the limit"},
    415: {"description": "Not JSON"},
    422: {"description": "Not one of the accepted shapes, or malformed JSON"},
}


@router.post(
    "/webhook",
    status_code=202,
    responses=BATCH_RESPONSES,
    openapi_extra=json_request_body(body_json_schema()),
)
async def import_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    sender: WebhookSenderDep,
    idempotency_key: IdempotencyKey = None,
    source: SourceQuery = None,
) -> JSONResponse:
    """Accept a batch from a scraper or an n8n workflow. See the README for the four body shapes.

    Authenticated by X-Webhook-Secret or a Standard Webhooks signature; without an Idempotency-Key,
    the `webhook-id` is one (a sender's retry of a message keeps its id)."""
    if idempotency_key is None and sender.webhook_id is not None:
        if len(sender.webhook_id) > IDEMPOTENCY_KEY_MAX_LENGTH:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"webhook-id longer than {IDEMPOTENCY_KEY_MAX_LENGTH} characters",
            )
        idempotency_key = sender.webhook_id
    return await _accept_batch(request, session, settings, idempotency_key, source)


@router.post(
    "/batch",
    status_code=202,
    responses=BATCH_RESPONSES,
    dependencies=[ApiKeyAccess],
    openapi_extra=json_request_body(body_json_schema()),
)
async def import_batch(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
    source: SourceQuery = None,
) -> JSONResponse:
    """The seed's batch import: `{"products": [...]}` or an array; answers like the webhook."""
    return await _accept_batch(request, session, settings, idempotency_key, source)


@router.post(
    "/product",
    response_model=ProductImported,
    responses=AUTH_RESPONSES,
    dependencies=[ApiKeyAccess],
    openapi_extra=json_request_body(product_json_schema()),
)
async def import_product(
    request: Request, session: SessionDep, settings: SettingsDep, source: SourceQuery = None
) -> ProductImported:
    """The seed's single-product import: stored and imported at once, answering the product's id."""
    body = await read_json_body(request, settings.max_body_bytes)
    if not isinstance(body.data, dict):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "expected one product as a JSON object")
    import_request = ImportRequest(source=(source or DEFAULT_SOURCE).lower(), products=[body.data])
    return await run_in_threadpool(_import_one, session, import_request, body.sha256, body.size)


def _import_one(session: Session, import_request: ImportRequest, sha256: str, size: int) -> ProductImported:
    try:
        imported = single_product.import_product(session, import_request, body_sha256=sha256, body_bytes=size)
    except UnknownPricingProfile as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if imported.next_stage is not None:
        send_stage(session, imported.next_stage, str(imported.job_id), 0)
    session.commit()
    if imported.errors:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {
                "message": "invalid product",
                "errors": [error.model_dump() for error in imported.errors],
                "job_id": str(imported.job_id),
            },
        )
    return ProductImported(
        product_id=imported.product_id,
        status=ItemStatus.DONE if imported.finished else ItemStatus.PENDING,
        outcome=imported.outcome,
        job_id=imported.job_id,
        status_url=status_url(imported.job_id),
    )


@router.get(
    "/job/{job_id}",
    response_model=JobRead,
    responses={404: {"description": "No such job"}, **AUTH_RESPONSES},
    dependencies=[JobAccess],
)
def get_job(
    job_id: str,
    session: SessionDep,
    errors_limit: Annotated[int, Query(ge=0, le=1000)] = 100,
) -> JobRead:
    """Poll a job: its status, per-stage counts, progress and the errors of its failed products.
    Takes an API key, or the webhook's X-Webhook-Secret (the credential that posted the batch)."""
    not_found = HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} not found")
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        raise not_found from None
    try:
        return jobs.job_view(session, parsed, errors_limit=errors_limit)
    except jobs.JobNotFound:
        raise not_found from None

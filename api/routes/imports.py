"""The import routes: the webhook, the seed's product and batch imports, a spreadsheet upload, and
jobs (one's status, and the list)."""

from __future__ import annotations

import hashlib
import math
import os
import uuid
from typing import IO, Annotated, Any, Literal

import orjson
import structlog
from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Query, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.auth import AUTH_RESPONSES, ApiKeyAccess, JobAccess, WebhookSenderDep
from api.body import read_json_body
from api.deps import SessionDep, SettingsDep
from api.pagination import next_page_url
from models import ItemStatus
from schemas.imports import (
    FileImportAccepted,
    ImportAccepted,
    JobPage,
    JobRead,
    ProductImported,
    ProductImportProblem,
    SpreadsheetRead,
)
from services.imports import spreadsheet
from services.imports.envelope import (
    SOURCE_MAX_LENGTH,
    ImportOptions,
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
    accept_import_stream,
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
    return jobs.status_path(job_id)


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
    responses={
        **AUTH_RESPONSES,
        422: {"model": ProductImportProblem, "description": "The product is invalid (each field's problem)"},
    },
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


# ---------------------------------------------------------------- a spreadsheet upload

FILE_NAME_MAX_LENGTH = 255
MAPPING_MAX_LENGTH = 20_000
HASH_BLOCK_BYTES = 1024 * 1024
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": FileImportAccepted, "description": "Stored; the import runs in the background"},
    **AUTH_RESPONSES,
    409: {"description": "A request with this Idempotency-Key is still being stored: retry"},
    413: {"description": "A file over MAX_FILE_BYTES, or more product rows than MAX_FILE_ROWS"},
    415: {"description": "Not multipart/form-data, or a file that is neither CSV nor XLSX (by its content)"},
    422: {
        "description": "No header row, no column for source_id or title (the headers found are listed), "
        "a mapping naming no column, or an unknown option"
    },
}


def multipart_only(request: Request) -> None:
    """415 for a body that is not a form upload (before FastAPI says the `file` field is missing)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "expected multipart/form-data with a `file` field, got "
            f"{content_type[:100] or 'no Content-Type'}",
        )


def _file_options(
    marketplaces: str | None, publish: str | None, optimize: bool | None, pricing_profile: str | None
) -> dict[str, Any]:
    """The form's options as an envelope's `options`, checked by the same model (422 otherwise)."""
    options: dict[str, Any] = {}
    if marketplaces is not None:
        options["marketplaces"] = [m.strip() for m in marketplaces.split(",") if m.strip()]
    if publish is not None:
        options["publish"] = {"true": True, "false": False}.get(publish, publish)
    if optimize is not None:
        options["optimize"] = optimize
    if pricing_profile is not None:
        options["pricing_profile"] = pricing_profile.strip()
    try:
        ImportOptions.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][:1])
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{where}: {first['msg'].removeprefix('Value error, ')}"
        ) from None
    return options


def _file_sha256(upload: IO[bytes], request_fields: dict[str, Any]) -> str:
    """The upload's identity for its Idempotency-Key: the file's bytes and what the form asked."""
    digest = hashlib.sha256(orjson.dumps(request_fields, option=orjson.OPT_SORT_KEYS))
    upload.seek(0)
    while block := upload.read(HASH_BLOCK_BYTES):
        digest.update(block)
    upload.seek(0)
    return digest.hexdigest()


def _spreadsheet_refused(exc: spreadsheet.SpreadsheetError) -> HTTPException:
    if isinstance(exc, spreadsheet.UnsupportedFile):
        return HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"not a CSV or XLSX file: {exc}")
    if isinstance(exc, spreadsheet.TooManyRows):
        return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def _store_file(
    session: Session,
    upload: IO[bytes],
    *,
    name: str | None,
    size: int,
    source: str,
    options: dict[str, Any],
    mapping: spreadsheet.ColumnMapping,
    max_rows: int,
    chunk_size: int,
    idempotency_key: str | None,
    request_id: str | None,
    headers: dict[str, str],
) -> tuple[AcceptedImport, spreadsheet.SheetInfo]:
    sha256 = _file_sha256(upload, {"source": source, "options": options, "mapping": mapping})
    try:
        sheet = spreadsheet.open_spreadsheet(upload, mapping=mapping, max_rows=max_rows)
    except spreadsheet.SpreadsheetError as exc:
        raise _spreadsheet_refused(exc) from None
    with sheet:
        described = {"name": name, **sheet.info.describe()}
        job_options = ImportOptions.model_validate({**options, "file": described})
        import_request = ImportRequest(
            source=source,
            products=[],
            options=job_options,
            event_type="file.import",
            envelope={"source": source, "event_type": "file.import", "options": job_options.model_dump(
                mode="json", exclude_none=True)},
        )  # fmt: skip
        products = ((f"row {row.number}", row.product) for row in sheet.rows)
        try:
            accepted = accept_import_stream(
                session,
                import_request,
                products,
                body_sha256=sha256,
                body_bytes=size,
                chunk_size=chunk_size,
                idempotency_key=idempotency_key,
                headers=headers,
            )
        except spreadsheet.SpreadsheetError as exc:
            session.rollback()  # the job and the chunks stored so far
            raise _spreadsheet_refused(exc) from None
        except (IdempotencyKeyReused, UnknownPricingProfile) as exc:
            session.rollback()
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        except IdempotencyKeyInProgress as exc:
            session.rollback()
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc), headers={"Retry-After": "1"}) from None
    if accepted.created:
        send_after_commit(session, messages.import_job(str(accepted.job_id), request_id=request_id))
    session.commit()
    return accepted, sheet.info


@router.post(
    "/file",
    status_code=202,
    responses=FILE_RESPONSES,
    dependencies=[ApiKeyAccess, Depends(multipart_only)],
)
async def import_file(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(
            description="A CSV (any delimiter; UTF-8 or Windows-1250) or an XLSX (its first sheet), "
            "a header row, then a row per product"
        ),
    ],
    source: Annotated[str, Form(min_length=1, max_length=SOURCE_MAX_LENGTH)] = DEFAULT_SOURCE,
    marketplaces: Annotated[
        str | None, Form(max_length=500, description="Comma-separated: amazon_de,ebay_de")
    ] = None,
    publish: Annotated[Literal["true", "false", "preview"] | None, Form()] = None,
    optimize: Annotated[bool | None, Form()] = None,
    pricing_profile: Annotated[str | None, Form(max_length=100)] = None,
    mapping: Annotated[
        str | None,
        Form(
            max_length=MAPPING_MAX_LENGTH,
            description='JSON: our field → the file\'s header, over the defaults: {"price": "Cena brutto", '
            '"attributes.Kolor": "Kolor", "description": null}',
        ),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Import a spreadsheet of products: a row per product, validated as the webhook's products are
    (a bad row fails alone, its fields named "row 17: price"); answers like the webhook, with how
    the file was read (`file`: format, encoding, delimiter, the columns read and ignored)."""
    size = file.size if file.size is not None else _measured_size(file.file)
    if size > settings.max_file_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"file larger than {settings.max_file_bytes:,} bytes (MAX_FILE_BYTES): split it",
        )
    options = _file_options(marketplaces, publish, optimize, pricing_profile)
    try:
        columns = spreadsheet.parse_mapping(mapping)
    except spreadsheet.InvalidMapping as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    name = os.path.basename(file.filename or "")[:FILE_NAME_MAX_LENGTH] or None
    accepted, info = await run_in_threadpool(
        _store_file,
        session,
        file.file,
        name=name,
        size=size,
        source=source.replace("\x00", "").strip().lower() or DEFAULT_SOURCE,
        options=options,
        mapping=columns,
        max_rows=settings.max_file_rows,
        chunk_size=settings.import_chunk_size,
        idempotency_key=idempotency_key,
        request_id=structlog.contextvars.get_contextvars().get("request_id"),
        headers={name: request.headers[name][:500] for name in RECORDED_HEADERS if name in request.headers},
    )
    structlog.contextvars.bind_contextvars(job_id=str(accepted.job_id))
    log.info("import.file_accepted", received=accepted.received, created=accepted.created,
             format=info.format, encoding=info.encoding)  # fmt: skip
    answer = FileImportAccepted(
        job_id=accepted.job_id,
        status=accepted.status,
        status_url=status_url(accepted.job_id),
        received=accepted.received,
        created=accepted.created,
        file=SpreadsheetRead(name=name, rows=accepted.received, **info.describe()),
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


def _measured_size(upload: IO[bytes]) -> int:
    upload.seek(0, os.SEEK_END)
    size = upload.tell()
    upload.seek(0)
    return size


# ---------------------------------------------------------------- the jobs list

JobStatusFilter = Literal["pending", "running", "completed", "completed_with_errors", "failed"]


@router.get("/jobs", response_model=JobPage, responses=AUTH_RESPONSES, dependencies=[ApiKeyAccess])
def list_jobs(
    request: Request,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
    job_status: Annotated[JobStatusFilter | None, Query(alias="status")] = None,
    source: Annotated[str | None, Query(max_length=SOURCE_MAX_LENGTH)] = None,
) -> JobPage:
    """Recent import jobs, newest first, a page at a time; `next` is the next page's URL (null on the
    last), for n8n's pagination. A job's details: its `status_url`."""
    listings, total = jobs.list_jobs(
        session, status=job_status, source=source, page=page, page_size=page_size
    )
    total_pages = math.ceil(total / page_size)
    return JobPage(
        items=listings,
        total=total,
        page=page,
        page_size=page_size,
        total_pages=total_pages,
        next=next_page_url(request, page, total_pages),
    )  # fmt: skip

"""Request bodies: bounded in size for every route, and JSON checked once, before any route sees it.

The rules (`BodyLimits`, a pure ASGI middleware):
- A body larger than `MAX_BODY_BYTES` (a spreadsheet upload: `MAX_FILE_BYTES`) is refused with 413,
  at once when Content-Length says so, or as soon as the bytes received pass the limit (a missing
  or lying Content-Length gets no further); it is never read whole.
- A POST, PUT or PATCH body sent as JSON (or without a Content-Type) is parsed once with
  api.json_body's rules: malformed JSON, NaN/Infinity, invalid UTF-8 or more than
  `MAX_JSON_DEPTH` levels of nesting answer 422 saying what is wrong; millions of values, 413. The
  route gets the same bytes, and `read_json_body` the parsed data without parsing it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request, status
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.json_body import InvalidJson, TooManyJsonValues, parse_json
from services.platform.settings import get_settings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PARSED = "listing.json_body"  # the scope key holding (raw bytes, parsed data)


class BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI's own body reading passes it on as it is."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE, f"request body larger than {max_bytes} bytes: split the batch"
        )


@dataclass(frozen=True, slots=True)
class JsonBody:
    data: Any
    size: int
    sha256: str


def _is_json(content_type: str | None) -> bool:
    return content_type is None or "json" in content_type.lower()


def _answer(exc: HTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


def _refused(exc: InvalidJson) -> HTTPException:
    too_many = isinstance(exc, TooManyJsonValues)
    code = status.HTTP_413_CONTENT_TOO_LARGE if too_many else status.HTTP_422_UNPROCESSABLE_CONTENT
    return HTTPException(code, str(exc))


FILE_ROUTE = "/api/import/file"
FORM_MARGIN_BYTES = 1024 * 1024


class BodyLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()  # read per request: a test may lower the limits
        max_bytes = settings.max_body_bytes
        headers = Headers(scope=scope)
        if scope["path"] == FILE_ROUTE and headers.get("content-type", "").startswith("multipart/form-data"):
            # A spreadsheet is read row by row, not parsed whole: its own limit, with room for the form.
            max_bytes = max(max_bytes, settings.max_file_bytes + FORM_MARGIN_BYTES)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            await _answer(BodyTooLarge(max_bytes))(scope, receive, send)
            return
        if scope["method"] in BODY_METHODS and _is_json(headers.get("content-type")):
            try:
                raw = await _read(receive, max_bytes)
                if raw is None:
                    return  # the client went away
                if raw.strip():
                    scope[_PARSED] = (raw, parse_json(raw, max_depth=settings.max_json_depth))
            except InvalidJson as exc:
                await _answer(_refused(exc))(scope, receive, send)
                return
            except BodyTooLarge as exc:
                await _answer(exc)(scope, receive, send)
                return
            receive = _replay(raw, receive)
        else:
            receive = _counted(receive, max_bytes)
        await self.app(scope, receive, send)


async def _read(receive: Receive, max_bytes: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(max_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(raw: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replay


def _counted(receive: Receive, max_bytes: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > max_bytes:
            raise BodyTooLarge(max_bytes)
        return message

    return counted


async def read_json_body(request: Request, max_bytes: int) -> JsonBody:
    """The body as JSON: parsed by `BodyLimits` already, or read here under the same rules."""
    content_type = request.headers.get("content-type")
    if not _is_json(content_type):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"expected Content-Type: application/json, got {(content_type or '')[:100]}",
        )
    parsed = request.scope.get(_PARSED)
    if parsed is not None:
        raw, data = parsed
    else:
        raw = await _read_stream(request, max_bytes)
        if not raw.strip():
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "empty body: expected JSON")
        try:
            data = parse_json(raw, max_depth=get_settings().max_json_depth)
        except InvalidJson as exc:
            raise _refused(exc) from None
    return JsonBody(data=data, size=len(raw), sha256=hashlib.sha256(raw).hexdigest())


async def _read_stream(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)

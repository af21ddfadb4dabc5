"""Reading a JSON request body with a size limit, before anything else looks at it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import HTTPException, Request, status


@dataclass(frozen=True, slots=True)
class JsonBody:
    data: Any
    size: int
    sha256: str


async def read_json_body(request: Request, max_bytes: int) -> JsonBody:
    content_type = request.headers.get("content-type", "application/json")
    if "json" not in content_type.lower():
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"expected Content-Type: application/json, got {content_type[:100]}",
        )
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"request body larger than {max_bytes} bytes: split the batch",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:  # a missing or lying Content-Length must not get past the limit
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "empty body: expected JSON")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"malformed JSON: {exc}") from None
    return JsonBody(data=data, size=size, sha256=hashlib.sha256(raw).hexdigest())

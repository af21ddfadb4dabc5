"""`GET /health`: 200 when Postgres and Redis answer, 503 naming the part that does not."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.platform.db import get_engine
from workers.broker import broker

router = APIRouter(tags=["health"])


def _check_database() -> str:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "connected"


def _check_redis() -> str:
    try:
        broker.client.ping()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "connected"


@router.get("/health", responses={503: {"description": "A dependency is down"}})
def health() -> JSONResponse:
    checks: dict[str, Any] = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value == "connected" for value in checks.values())
    body = {"status": "healthy" if healthy else "unhealthy", **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)

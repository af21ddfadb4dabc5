"""What an unexpected error answers: never a stack trace, SQL or connection string.

The rules (`InternalErrors`, a pure ASGI middleware inside the request id and CORS ones, so that
these answers carry both):
- The database unreachable (connection refused or lost, the server shutting down or restarting, the
  pool exhausted) or Redis unreachable: 503 `{"detail": "database unavailable", "request_id"}` (or
  "redis unavailable") with `Retry-After`, logged as a warning without a traceback.
- Any other exception: 500 `{"detail": "internal error", "request_id"}`, logged with its traceback
  and the request id, so the client's quote of the id finds it.
- Errors the routes expect (HTTPException, validation) never get here; they keep their own answers.
  A client that went away mid-request gets nothing, and nothing is logged as an error.
"""

from __future__ import annotations

import psycopg
import redis.exceptions
import sqlalchemy.exc
import structlog
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 5


def unavailable_dependency(exc: BaseException) -> str | None:
    """Which dependency `exc` says cannot be reached now ("database" or "redis"); None for a bug."""
    if isinstance(
        exc, psycopg.OperationalError | sqlalchemy.exc.TimeoutError | sqlalchemy.exc.DisconnectionError
    ):
        return "database"
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and (
        exc.connection_invalidated
        or isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError)
        or isinstance(exc.orig, psycopg.OperationalError)
    ):
        return "database"
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "redis"
    return None


def error_response(exc: BaseException) -> JSONResponse:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    dependency = unavailable_dependency(exc)
    if dependency is not None:
        # The driver's own words (never SQLAlchemy's, which quote the statement and its values).
        reason = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
        log.warning("api.dependency_unavailable", dependency=dependency, error=type(exc).__name__,
                    reason=str(reason)[:300])  # fmt: skip
        return JSONResponse(
            {"detail": f"{dependency} unavailable", "request_id": request_id},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.error("api.internal_error", error=type(exc).__name__, exc_info=exc)
    return JSONResponse({"detail": "internal error", "request_id": request_id}, status_code=500)


def _single(exc: BaseException) -> BaseException:
    """The one exception inside (nested) groups of one, as task groups wrap them."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class InternalErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:
            return  # nobody to answer
        except Exception as exc:
            if started:  # too late for an answer: the server closes the connection
                raise
            await error_response(_single(exc))(scope, receive, send)

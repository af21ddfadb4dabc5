"""structlog for both processes: JSON in production, readable in a terminal.

Context (request_id, job_id, product ids, actor) is bound with `structlog.contextvars`, so every
line a request or a message produces carries it and one grep follows a job end to end. Standard
library loggers (uvicorn, dramatiq, sqlalchemy) go through the same renderer.

Secrets never reach a log line: `redact_secrets`, the last step before rendering, replaces the value
of any key that names a credential (authorization, x-api-key, x-webhook-secret, webhook-signature,
api_key, password, secret, token, cookie, and keys ending in _secret, _password, _api_key, _token,
_signature), at any depth and in (name, value) header pairs, and the password of any
`scheme://user:password@` URL and any `Bearer <token>` inside text, tracebacks included (exceptions
are formatted to text first, without local variables).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from services.platform.settings import Settings

REDACTED = "[redacted]"
SECRET_KEYS = frozenset(
    {"authorization", "proxy_authorization", "x_api_key", "api_key", "x_webhook_secret", "webhook_secret",
     "webhook_signature", "groq_api_key", "password", "secret", "token", "cookie", "set_cookie"}
)  # fmt: skip
SECRET_KEY_ENDINGS = ("_secret", "_password", "_api_key", "_token", "_signature")
_URL_PASSWORD = re.compile(r"([a-zA-Z][\w+.-]*://[^\s:/@]*):[^\s/@]+@")
_BEARER = re.compile(r"\b([Bb]earer)\s+[\w.~+/=-]+")


def _secret_key(key: object) -> bool:
    name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
    name = name.lower().replace("-", "_")
    return name in SECRET_KEYS or name.endswith(SECRET_KEY_ENDINGS)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        if "://" in value:
            value = _URL_PASSWORD.sub(rf"\1:{REDACTED}@", value)
        if "earer" in value:
            value = _BEARER.sub(rf"\1 {REDACTED}", value)
        return value
    if isinstance(value, dict):
        return {key: REDACTED if _secret_key(key) else _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if len(value) == 2 and isinstance(value[0], str | bytes) and _secret_key(value[0]):
            return (value[0], REDACTED)  # a (name, value) header pair
        return [_redacted(item) for item in value]
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        event_dict[key] = REDACTED if _secret_key(key) else _redacted(value)
    return event_dict


def configure_logging(settings: Settings) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        # Tracebacks as text, so the redaction sees them (and no renderer prints local variables).
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: Any
    if settings.json_logs:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # httpx logs every request's full URL at INFO: a callback's URL may carry a secret in its query
    # (an n8n resume URL's signature), and the marketplace clients log what they need themselves.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))

"""Dramatiq middleware: the log context of each message."""

from __future__ import annotations

from typing import Any

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware


class LogContext(Middleware):
    """Binds the actor, the message id and the job id (and the id of the request that sent the
    message) to every log line the message produces."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        structlog.contextvars.clear_contextvars()
        context: dict[str, Any] = {"actor": message.actor_name, "message_id": message.message_id}
        job_id = message.kwargs.get("job_id") or (message.args[0] if message.args else None)
        if isinstance(job_id, str):
            context["job_id"] = job_id
        if request_id := message.options.get("request_id"):
            context["request_id"] = request_id
        structlog.contextvars.bind_contextvars(**context)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        structlog.contextvars.clear_contextvars()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        structlog.contextvars.clear_contextvars()

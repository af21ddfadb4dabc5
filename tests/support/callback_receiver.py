"""A callback receiver on loopback (as an n8n Wait node's resume URL would be): it answers with the
statuses queued (then 200), and records every request: path with query, headers, raw body."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from devstack.loopback import FakeHandler, LoopbackServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # with the query string, as sent
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class CallbackReceiver(LoopbackServer):
    def __init__(self) -> None:
        self._answers: deque[tuple[int, dict[str, str]]] = deque()
        self._received: list[Received] = []
        self._lock = threading.Lock()

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    def answer(
        self, status: int, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> CallbackReceiver:
        with self._lock:
            self._answers.extend([(status, headers or {})] * times)
        return self

    def url(self, path: str = "/webhook-waiting/abc123?signature=s3cr3t") -> str:
        return self.server_url + path

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def take(self, request: Received) -> tuple[int, dict[str, str]]:
        with self._lock:
            self._received.append(request)
            return self._answers.popleft() if self._answers else (200, {})


class _Handler(FakeHandler):
    server_fake: CallbackReceiver
    protocol_version = "HTTP/1.0"

    def handle_request(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, extra = self.server_fake.take(Received(self.command, self.path, headers, body))
        said = {"message": "Workflow was started"} if status < 300 else {"code": status}
        self.send_json(status, said, extra)

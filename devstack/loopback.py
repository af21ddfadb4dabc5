"""A fake outside service on 127.0.0.1: a real HTTP server in a daemon thread.

The fakes of Groq (tests/support/fake_groq.py) and of the marketplaces (devstack/fake_marketplaces/)
are subclasses: each names its `handler_class`, a BaseHTTPRequestHandler whose requests reach the
fake through the class attribute `server_fake`, and is used as a context manager or with start() / stop().
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LoopbackServer:
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        handler: type[Any] = type("Handler", (self.handler_class(),), {"server_fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def server_url(self) -> str:
        """http://127.0.0.1:<port>, once started."""
        assert self._server is not None, f"the {type(self).__name__} server is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"


class FakeHandler(BaseHTTPRequestHandler):
    """Every method to `handle_request`, and no access log in the test output."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_request(self) -> None:
        raise NotImplementedError

    def send_json(
        self,
        status: int,
        payload: Any,
        headers: Mapping[str, str] | None = None,
        *,
        ensure_ascii: bool = True,
    ) -> None:
        """Answer `payload` as JSON (None: an empty body) with `headers`; a client that stopped
        waiting (a timeout test) is no error of the fake's."""
        data = b"" if payload is None else json.dumps(payload, ensure_ascii=ensure_ascii).encode()
        try:
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:
        self.handle_request()

    def do_POST(self) -> None:
        self.handle_request()

    def do_PUT(self) -> None:
        self.handle_request()

    def do_PATCH(self) -> None:
        self.handle_request()

    def do_DELETE(self) -> None:
        self.handle_request()

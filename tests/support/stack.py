"""The end-to-end stack: the API (uvicorn) and a worker (`dramatiq workers.main`) as processes over one
database, and the credentials they are started with. tests/e2e/conftest.py's `stack` fixture makes one
per test."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
from sqlalchemy import Engine

from devstack.servers import free_port
from devstack.stack import spawn_api, spawn_worker, stop_process, wait_until_healthy

SECRET = "e2e-secret"
API_KEY = "e2e-api-key"  # the bootstrap key (write scope) the processes are started with
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@dataclass
class Stack:
    """An API and a worker process over one database; `env` is what both were started with."""

    env: dict[str, str]
    logs: Path
    engine: Engine
    api_port: int = 0
    processes: dict[str, Popen[bytes]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start_api(self, *, expect_healthy: bool = True) -> None:
        self.api_port = free_port()
        log = (self.logs / "api.log").open("ab")
        self.processes["api"] = spawn_api(self.env, self.api_port, log)
        if expect_healthy:
            wait_until_healthy(self.base_url, timeout=60)
        else:
            self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base_url}/health", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError("API did not start")

    def start_worker(self, module: str = "workers.main") -> None:
        log = (self.logs / "worker.log").open("ab")
        self.processes["worker"] = spawn_worker(self.env, processes=1, threads=4, log=log, module=module)

    def kill(self, name: str) -> None:
        """SIGKILL to the process and its children, as a crash or an out-of-memory kill would."""
        if process := self.processes.pop(name, None):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self, name: str) -> None:
        if process := self.processes.pop(name, None):
            stop_process(process)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.base_url}{path}",
            json=body,
            headers={"X-Webhook-Secret": SECRET, **AUTH, **(headers or {})},
            timeout=30,
        )

    def get(self, path: str, timeout: float = 10, **kwargs: Any) -> httpx.Response:
        """A GET with the API key."""
        return httpx.get(f"{self.base_url}{path}", headers=AUTH, timeout=timeout, **kwargs)

    def wait_for_job(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.get(f"/api/import/job/{job_id}").json()
            if job["status"] in ("completed", "completed_with_errors", "failed"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} not finished after {timeout}s: {job}\n{self.tail_logs()}")

    def tail_logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            for log in sorted(self.logs.glob("*.log"))
        )

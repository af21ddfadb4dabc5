"""The whole product on one machine: local servers, migrations, the API and a worker as processes.

Used by `python -m devstack` (scripts/dev), by the end-to-end tests and by the benchmarks, so that all three
run the product exactly as Railway does: `uvicorn api.app:app` and `dramatiq workers.main`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _spawn(
    args: list[str], env: dict[str, str], log: IO[bytes] | None, root: Path = ROOT
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        cwd=root,
        env={**os.environ, **env},
        stdout=log if log is not None else None,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,  # our signals reach it, a terminal's Ctrl-C is ours to pass on
    )


def spawn_api(
    env: dict[str, str], port: int, log: IO[bytes] | None = None, *, root: Path = ROOT
) -> subprocess.Popen[bytes]:
    """`root`: the checkout to run (the benchmarks run an older commit's from a worktree)."""
    return _spawn(
        [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log"],
        env,
        log,
        root,
    )  # fmt: skip


def spawn_worker(
    env: dict[str, str],
    *,
    processes: int = 1,
    threads: int = 4,
    log: IO[bytes] | None = None,
    module: str = "workers.main",
    root: Path = ROOT,
) -> subprocess.Popen[bytes]:
    # An idle consumer polls Redis with a backoff up to this many ms: Dramatiq's 1 s default would
    # add up to a second to every hop of a job through its stages.
    env = {"dramatiq_worker_timeout": "100", **env}
    return _spawn(
        [sys.executable, "-m", "dramatiq", module, "--processes", str(processes),
         "--threads", str(threads), "--queues", "pipeline"],
        env,
        log,
        root,
    )  # fmt: skip


def wait_until_healthy(base_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/health", timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{base_url}/health not healthy after {timeout:.0f}s: {last}")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM (a graceful stop, as Railway does), then SIGKILL to its whole group if it lingers.

    Only the leader gets the SIGTERM: dramatiq's main process passes it on to its workers, and a
    second one would make them quit at once instead of finishing their messages."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

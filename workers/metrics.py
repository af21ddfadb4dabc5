"""The workers' metrics: what the actors record (services.platform.metrics, one call per actor), and
the exporter that serves them with Dramatiq's own and the queue depth, on WORKER_METRICS_PORT.

How they get out of the processes. `dramatiq workers.main --processes N` is a main process that
starts N worker processes and, once they have booted, the "fork" processes their middleware asks for.
`WorkerMetrics` (Dramatiq's Prometheus middleware, added by workers.main) is that middleware:
- when a worker process boots, it points prometheus_client's multiprocess mode
  (PROMETHEUS_MULTIPROC_DIR) at a directory of this run, before the process first imports
  prometheus_client: every worker process's values (Dramatiq's message counts, errors, retries,
  durations and messages in progress; the product's `listing_*`) are files there;
- its fork process, `serve_worker_metrics`, serves them summed over the processes, with
  `listing_queue_depth` read from Redis at each scrape, on WORKER_METRICS_HOST:WORKER_METRICS_PORT
  (`::` and 9191 by default; 0: no exporter), with the API's METRICS_TOKEN when it is set.
The directory is named after the main process (the parent of the worker processes and of the
exporter) and its start time, so a later run never reads a stale one, even with the same pid (a
restarted container); a booting worker removes those of runs that have ended. A run's own stays
until then: its worker processes may still write while they stop, after the exporter has gone.
Dramatiq's own exposition server is not used: it serves its files only, from one fixed directory
(`dramatiq_prom_db`, shared by every run on the machine), on its own variables.

On Railway the worker service has no public domain: a Prometheus (or Grafana Alloy) service in the
same project scrapes `<worker service>.railway.internal:9191/metrics` over the project's private
network (IPv6 in older environments: hence `::`), each replica's address found with a DNS lookup.
"""

from __future__ import annotations

import hmac
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import dramatiq
import redis
import sqlalchemy.exc
import structlog
from dramatiq.middleware import prometheus as dramatiq_prometheus
from sqlalchemy import select

from models import ImportJob, ItemOutcome, stages
from services.platform import metrics
from services.platform.logging import configure_logging
from services.platform.settings import get_settings
from workers.broker import QUEUE, broker
from workers.db import session_scope

if TYPE_CHECKING:  # annotations only: the exporter's process need not import the stages
    from prometheus_client.metrics_core import Metric

    from services.ai.copywriter import CopyResult
    from services.pipeline.items import StageResult
    from services.pipeline.stages.import_ import ChunkResult
    from services.publishing.clients.base import PublishOutcome

log = structlog.get_logger(__name__)

DIRECTORY_PREFIX = "listing-worker-metrics-"
Exposition = Callable[[str], tuple[bytes, str]]  # the scraper's Accept header -> (body, content type)
QUEUE_DEPTH = "listing_queue_depth"


# What the actors record -------------------------------------------------------------------------


def stage_done(stage: str, result: StageResult) -> None:
    """The products a stage moved on (the skipped ones apart) or failed, in one chunk or slice."""
    skipped = result.skipped
    failed = len(result.failed_source_ids)
    metrics.products_handled(stage, passed=len(result.product_ids) - skipped, skipped=skipped, failed=failed)


def import_done(result: ChunkResult) -> None:
    """An imported chunk: its products imported, repeated later in their batch (skipped), or invalid."""
    skipped = result.outcomes[ItemOutcome.DUPLICATE]
    metrics.products_handled(stages.IMPORT, passed=result.imported, skipped=skipped, failed=result.failed)


def gave_up(stage: str, failed: int) -> None:
    """A chunk's items failed at `stage` when its message ran out of retries."""
    metrics.products_handled(stage, passed=0, failed=failed)


def optimize_done(result: StageResult, written: Sequence[tuple[Any, CopyResult]]) -> None:
    """An optimize slice: its products, and the requests and tokens its copy cost (deferred products'
    included: their answers are cached, the tokens spent)."""
    stage_done(stages.OPTIMIZE, result)
    metrics.llm_used(
        requests=sum(copy.attempts for _, copy in written),
        prompt_tokens=sum(copy.prompt_tokens for _, copy in written),
        completion_tokens=sum(copy.completion_tokens for _, copy in written),
    )


def publish_done(result: StageResult, answers: Mapping[tuple[int, str], PublishOutcome]) -> None:
    """A publish chunk: its products, and the marketplaces' answers per listing."""
    stage_done(stages.PUBLISH, result)
    outcomes: Counter[tuple[str, str]] = Counter(
        (marketplace, answer.outcome) for (_, marketplace), answer in answers.items()
    )
    metrics.publish_results(outcomes)


def job_finished(job_id: str, status: str) -> None:
    """A job ended with `status` (called after the commit that ended it): counted, with its time from
    creation to end. Nothing is counted unless the job is stored as ended with that status, so a
    repeated call for a job another path ended does not count it twice. Never raises: a metric is
    not worth a retry of the message."""
    try:
        with session_scope() as session:
            row = session.execute(
                select(ImportJob.status, ImportJob.created_at, ImportJob.completed_at).where(
                    ImportJob.id == uuid.UUID(job_id)
                )
            ).one_or_none()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        log.warning("metrics.job_unread", job_id=job_id, error=type(exc).__name__)
        return
    if row is None or row.status != status or row.completed_at is None:
        return
    created: datetime = row.created_at
    completed: datetime = row.completed_at
    metrics.job_finished(status, (completed - created).total_seconds())


# The middleware and its exporter -----------------------------------------------------------------


class WorkerMetrics(dramatiq_prometheus.Prometheus):
    """Dramatiq's Prometheus middleware with this run's directory and our exporter (module docstring)."""

    @property
    def forks(self) -> list[Callable[[], int]]:
        return [serve_worker_metrics]

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        if "prometheus_client" in sys.modules:
            # Its values would stay in this process's memory, where the exporter cannot read them.
            log.error(
                "worker_metrics.not_shared",
                reason="prometheus_client was imported before the worker booted: import it lazily "
                "(see services.platform.metrics)",
            )
        directory = metrics_directory()
        remove_ended_runs(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # Dramatiq's middleware reads its directory from this module global (set from dramatiq_prom_db
        # when it is imported) when a process boots and when it stops; its boot sets
        # PROMETHEUS_MULTIPROC_DIR to it and only then imports prometheus_client.
        dramatiq_prometheus.DB_PATH = str(directory)
        super().after_process_boot(broker)  # type: ignore[no-untyped-call]


def serve_worker_metrics() -> int:
    """The exporter: Dramatiq starts it as a process of its own (a "fork"), from the worker's main
    process, after the worker processes have booted. Serves GET /metrics until it is stopped or the
    main process is gone."""
    settings = get_settings()
    configure_logging(settings)
    directory = metrics_directory()
    directory.mkdir(parents=True, exist_ok=True)
    depth = QueueDepth(broker.client, broker.namespace, [QUEUE])
    token = settings.metrics_token.get_secret_value()

    def exposition(accept: str) -> tuple[bytes, str]:
        """Every worker process's values, summed, and the queue depth; in the format the scraper
        accepts (Prometheus' text format, or OpenMetrics)."""
        from prometheus_client import CollectorRegistry
        from prometheus_client.exposition import choose_encoder
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        registry.register(depth)
        encode, content_type = choose_encoder(accept)
        return encode(registry), content_type

    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    try:
        server = ExporterServer.listen(host, port, exposition, token)
    except OSError as exc:
        log.error("worker_metrics.cannot_listen", host=host, port=port, error=str(exc))
        return 1
    parent = os.getppid()
    threading.Thread(target=_stop_without_parent, args=(server, parent), daemon=True).start()
    log.info("worker_metrics.listening", host=host, port=server.server_address[1], directory=str(directory))
    try:
        server.serve_forever()
    finally:  # stopped (SIGTERM from the main process), or the main process is gone
        server.server_close()
    return 0


def _stop_without_parent(server: ExporterServer, parent: int) -> None:
    """A main process killed at once (SIGKILL, an out-of-memory kill) stops no one: its exporter must
    not keep the port, nor serve a dead run's values."""
    while os.getppid() == parent:
        time.sleep(1)
    server.shutdown()


class ExporterServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        exposition: Exposition,
        token: str,
    ) -> None:
        self.address_family = family
        self.exposition = exposition
        self.token = token
        super().__init__(address, MetricsHandler)

    @classmethod
    def listen(cls, host: str, port: int, exposition: Exposition, token: str) -> ExporterServer:
        """On `host` (`::`: every IPv6 and IPv4 address where the system allows both on one socket)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            return cls((host, port), family, exposition, token)
        except OSError:
            if host != "::":
                raise
            return cls(("0.0.0.0", port), socket.AF_INET, exposition, token)  # noqa: S104 - no IPv6 here

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # TCPServer's, not HTTPServer's: that one looks the host's name up in the DNS, for nothing.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def authorized(self, authorization: str | None) -> bool:
        if not self.token:
            return True
        scheme, _, credentials = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip(), self.token)


class MetricsHandler(BaseHTTPRequestHandler):
    server: ExporterServer

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/metrics":
            self._answer(404, b"not found: the metrics are at /metrics\n")
        elif not self.server.authorized(self.headers.get("Authorization")):
            self._answer(401, b"METRICS_TOKEN is set: send Authorization: Bearer <token>\n", auth=True)
        else:
            try:
                body, content_type = self.server.exposition(self.headers.get("Accept", ""))
            except Exception as exc:
                log.error("worker_metrics.exposition_failed", error=type(exc).__name__, exc_info=exc)
                self._answer(500, b"internal error\n")
                return
            self._answer(200, body, content_type=content_type)

    def _answer(
        self, status: int, body: bytes, *, content_type: str = "text/plain; charset=utf-8", auth: bool = False
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        if auth:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a scrape every few seconds is no news."""


class QueueDepth:
    """`listing_queue_depth{queue, state}`, read from Redis at each scrape, where Dramatiq's Redis broker
    keeps each queue (its brokers/redis/dispatch.lua):
    - waiting: `<namespace>:<queue>`, the list of message ids no worker has taken yet;
    - fetched: `<namespace>:<queue>.msgs` (the hash of every message not yet acknowledged) less the
      waiting ones: taken by a worker, in its prefetch buffer or running;
    - delayed: `<namespace>:<queue>.DQ.msgs`, the delayed messages (retries, deferred slices) not yet
      due and moved to the queue, both those still in the `.DQ` list and those a worker holds in
      memory until they are due;
    - dead: `<namespace>:<queue>.XQ`, the dead-lettered ones (kept a week).
    Redis not answering: no sample, and a warning; the scrape goes on."""

    def __init__(self, client: redis.Redis, namespace: str, queues: Sequence[str]) -> None:
        self.client = client
        self.namespace = namespace
        self.queues = list(queues)

    def read(self) -> dict[tuple[str, str], int]:
        with self.client.pipeline(transaction=True) as pipe:  # one snapshot of every count
            for queue in self.queues:
                key = f"{self.namespace}:{queue}"
                pipe.llen(key)
                pipe.hlen(f"{key}.msgs")
                pipe.hlen(f"{key}.DQ.msgs")
                pipe.zcard(f"{key}.XQ")
            values = [int(value) for value in pipe.execute()]
        depth: dict[tuple[str, str], int] = {}
        for number, queue in enumerate(self.queues):
            waiting, unacknowledged, delayed, dead = values[number * 4 : number * 4 + 4]
            depth[(queue, "waiting")] = waiting
            depth[(queue, "fetched")] = max(unacknowledged - waiting, 0)
            depth[(queue, "delayed")] = delayed
            depth[(queue, "dead")] = dead
        return depth

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            depth = self.read()
        except redis.RedisError as exc:
            log.warning("worker_metrics.queue_depth_unread", error=type(exc).__name__)
            return
        gauge = GaugeMetricFamily(
            QUEUE_DEPTH,
            "Messages in Dramatiq's Redis queues, by state: waiting, fetched (by a worker, not yet "
            "acknowledged), delayed, dead (dead-lettered).",
            labels=["queue", "state"],
        )
        for (queue, state), value in depth.items():
            gauge.add_metric([queue, state], value)
        yield gauge


# This run's directory ----------------------------------------------------------------------------


def metrics_directory() -> Path:
    """The directory of this worker run: named after Dramatiq's main process, the parent of every
    worker process and of the exporter, and its start time."""
    parent = os.getppid()
    return Path(tempfile.gettempdir()) / f"{DIRECTORY_PREFIX}{process_identity(parent) or parent}"


def remove_ended_runs(keep: Path) -> None:
    """Remove the directories of runs whose main process has ended; several worker processes may do
    it at once."""
    for path in keep.parent.glob(DIRECTORY_PREFIX + "*"):
        identity = path.name.removeprefix(DIRECTORY_PREFIX)
        pid = identity.split("-", 1)[0]
        if path == keep or not pid.isdigit() or int(pid) <= 0:
            continue
        if process_identity(int(pid)) != identity:
            shutil.rmtree(path, ignore_errors=True)


def process_identity(pid: int) -> str | None:
    """`<pid>-<start time>` of a running process (its start time tells a reused pid apart), or the pid
    alone without /proc (macOS); None when no such process runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # someone else's: running
        return str(pid)
    except OSError:
        return str(pid)
    fields = stat.rsplit(")", 1)[-1].split()  # after the command's name, which may hold anything
    return f"{pid}-{fields[19]}" if len(fields) > 19 else str(pid)  # field 22: the start time

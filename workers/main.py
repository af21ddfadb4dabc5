"""Entry point of the worker process: `dramatiq workers.main`.

Imports the broker, the logging set-up and every actor module, checks the stages' configuration,
and adds the sweeper and the metrics' middleware (here, not in workers.broker, which the API imports
too: the API's broker only sends).
"""

from services.platform.logging import configure_logging
from services.platform.settings import get_settings
from workers import callbacks, import_stage, stage_actors
from workers.broker import broker
from workers.context import stage_context
from workers.metrics import WorkerMetrics
from workers.sweeper import Sweeper

configure_logging(get_settings())
stage_context()  # unusable rates, weights or languages stop the worker now, naming the problem
broker.add_middleware(Sweeper())
if get_settings().worker_metrics_port:  # every worker process's metrics, served on WORKER_METRICS_PORT
    broker.add_middleware(WorkerMetrics())

__all__ = ["broker", "callbacks", "import_stage", "stage_actors"]

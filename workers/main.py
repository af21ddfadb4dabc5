"""Entry point of the worker process: `dramatiq workers.main`.

Imports the broker, the logging set-up and every actor module, checks the stages' configuration,
and adds the sweeper.
"""

from services.platform.logging import configure_logging
from services.platform.settings import get_settings
from workers import import_stage, stage_actors
from workers.broker import broker
from workers.context import stage_context
from workers.sweeper import Sweeper

configure_logging(get_settings())
stage_context()  # unusable rates, weights or languages stop the worker now, naming the problem
broker.add_middleware(Sweeper())

__all__ = ["broker", "import_stage", "stage_actors"]

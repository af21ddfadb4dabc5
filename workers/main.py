"""Entry point of the worker process: `dramatiq workers.main`.

Imports the broker, the logging set-up and every actor module, and adds the sweeper.
"""

from services.logging import configure_logging
from services.settings import get_settings
from workers import import_stage, stage_actors
from workers.broker import broker
from workers.sweeper import Sweeper

configure_logging(get_settings())
broker.add_middleware(Sweeper())

__all__ = ["broker", "import_stage", "stage_actors"]

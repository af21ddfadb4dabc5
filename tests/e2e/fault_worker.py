"""The real worker (`workers.main`) with faults injected from its environment, for the fault tests:
`dramatiq tests.e2e.fault_worker`. Nothing here is used outside tests.

FAULT_SLOW_NORMALIZE_SECONDS  each normalize message sleeps this long first (a job stays mid-way
                              long enough to be interrupted)
FAULT_CRASH_ON_TITLE          the worker process kills itself (SIGKILL) when normalize reaches a
                              product whose title contains this text: a poison product
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import services.pipeline.stages.normalize as normalize_stage
import workers.stage_actors as stage_actors
from workers.main import broker

_SLOW = float(os.environ.get("FAULT_SLOW_NORMALIZE_SECONDS") or 0)
_CRASH_ON = os.environ.get("FAULT_CRASH_ON_TITLE")

if _SLOW:
    _run = getattr(stage_actors, "_run")  # noqa: B009 - patched below

    def _slow_run(stage: str, *args: Any) -> Any:
        if stage == "normalize":
            time.sleep(_SLOW)
        return _run(stage, *args)

    setattr(stage_actors, "_run", _slow_run)  # noqa: B010

if _CRASH_ON:
    _normalize_product = getattr(normalize_stage, "normalize_product")  # noqa: B009

    def _crashing_normalize_product(product: Any, marketplaces: Any, **options: Any) -> Any:
        if _CRASH_ON in product.title:
            os.kill(os.getpid(), signal.SIGKILL)
        return _normalize_product(product, marketplaces, **options)

    setattr(normalize_stage, "normalize_product", _crashing_normalize_product)  # noqa: B010

__all__ = ["broker"]

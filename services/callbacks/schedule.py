"""When to try a callback again: 5 s after the first attempt, then three times longer each time, at
most 10 minutes apart, while the next try still falls within CALLBACK_RETRY_SECONDS of the job's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import CallbackStatus
from services.callbacks.delivery import Attempt

FIRST_DELAY_SECONDS = 5.0
GROWTH = 3.0
MAX_DELAY_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class NextStep:
    final: str | None  # delivered or failed: the callback is over
    retry_in_seconds: float | None = None


def next_step(
    attempt: Attempt, number: int, ended_at: datetime | None, now: datetime, budget_seconds: float
) -> NextStep:
    """After attempt `number` (from 1) of a job that ended at `ended_at`."""
    if attempt.outcome == "delivered":
        return NextStep(CallbackStatus.DELIVERED)
    if attempt.outcome == "failed":
        return NextStep(CallbackStatus.FAILED)
    delay = min(FIRST_DELAY_SECONDS * GROWTH ** (number - 1), MAX_DELAY_SECONDS)
    waited = (now - ended_at).total_seconds() if ended_at is not None else 0.0
    if waited + delay > budget_seconds:
        return NextStep(CallbackStatus.FAILED)
    return NextStep(None, delay)

"""Counting a stage's attempts on each product in Postgres, so that a product that kills its worker
cannot stop its chunk for ever.

Dramatiq counts retries for exceptions, but a worker killed in the middle of a message (SIGKILL, the
OOM killer, a crash in a C extension) gets its message back, from the Redis broker's maintenance,
without any count (https://github.com/Bogdanp/dramatiq/issues/213): a product that crashes the
process every time would be tried for ever, and the rest of its chunk with it. So the stage counts,
in `job_items.attempts`, committed BEFORE the work:

* A chunk whose waiting items have no attempts yet is worked as a whole (the usual case: one extra
  UPDATE per chunk and stage). Items that move on have their count reset.
* A chunk whose waiting items have attempts already was stopped (a crash, or an exception: either
  way something went wrong with these products): its items are worked ONE AT A TIME, each counted
  just before, so that a later crash points at the product that caused it.
* An item counted `MAX_ATTEMPTS` times without moving on fails alone, with the reason; the rest of
  the chunk goes on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.pipeline.items import ItemError, claim_items, move_items

MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Waiting:
    """The chunk's items waiting at a stage, with the attempts each has had."""

    attempts: dict[int, int]  # position → attempts

    @property
    def stopped_before(self) -> bool:
        return any(self.attempts.values())

    def worn_out(self) -> list[int]:
        return sorted(p for p, n in self.attempts.items() if n >= MAX_ATTEMPTS)

    def to_try(self) -> list[int]:
        return sorted(p for p, n in self.attempts.items() if n < MAX_ATTEMPTS)


def waiting(session: Session, job_id: uuid.UUID, number: int, stage: str) -> Waiting:
    items = claim_items(session, job_id, number, stage, lock=False)
    return Waiting({item.position: item.attempts for item in items})


def count_attempt(session: Session, job_id: uuid.UUID, positions: Sequence[int]) -> None:
    """One more attempt on these items (the caller commits before it starts the work)."""
    session.execute(
        text(
            "UPDATE job_items SET attempts = attempts + 1"
            " WHERE job_id = :job_id AND position = ANY(:positions)"
        ),
        {"job_id": job_id, "positions": list(positions)},
    )


def fail_worn_out(
    session: Session, job_id: uuid.UUID, number: int, stage: str, positions: Sequence[int]
) -> int:
    """The items at `positions` fail: they stopped the stage `MAX_ATTEMPTS` times."""
    items = claim_items(session, job_id, number, stage, only=positions)
    reason = (
        f"the {stage} stage stopped {MAX_ATTEMPTS} times while working on this product"
        " (the worker died or raised); see the worker's log"
    )
    move_items(
        session,
        job_id,
        stage,
        passed=[],
        failed={item.position: [ItemError("product", reason)] for item in items},
    )
    return len(items)

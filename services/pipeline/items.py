"""A chunk's job items at a stage: claiming them, and moving them on (or failing them) afterwards.

Claiming locks the items (FOR UPDATE SKIP LOCKED): a second delivery of the same message, running
at the same time, claims nothing and does nothing; one running later finds the items moved on.
Either way a stage's work is done once per item.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from psycopg.types.json import Jsonb
from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from models import ItemStatus, stages
from services.platform.db import psycopg_connection

ProductRow = TypeVar("ProductRow")


@dataclass(frozen=True, slots=True)
class StageItem:
    position: int
    source_id: str | None
    product_id: int | None  # None: the product was deleted since it was imported
    attempts: int = 0  # tries of its stage that did not move it on (services.pipeline.attempts)


def claim_items(
    session: Session,
    job_id: uuid.UUID,
    number: int,
    stage: str,
    *,
    lock: bool = True,
    only: Sequence[int] | None = None,
) -> list[StageItem]:
    """The items of chunk `number` waiting at `stage` (those at positions `only`, when given), locked
    until the transaction ends (or, without `lock`, only read: for a stage that works outside the
    transaction that moves them)."""
    locking = " FOR UPDATE OF i SKIP LOCKED" if lock else ""
    narrowing = "" if only is None else " AND i.position = ANY(:only)"
    rows = session.execute(
        text(
            "SELECT i.position, i.source_id, i.product_id, i.attempts FROM job_items i"  # noqa: S608 - constants
            " JOIN job_chunks c ON c.job_id = i.job_id AND c.number = :number"
            " WHERE i.job_id = :job_id AND i.stage = :stage AND i.status = :pending"
            " AND i.position >= c.first_position AND i.position < c.first_position + c.size"
            + narrowing
            + " ORDER BY i.position"
            + locking
        ),
        {"job_id": job_id, "number": number, "stage": stage, "pending": ItemStatus.PENDING, "only": only},
    ).all()
    return [StageItem(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class ItemError:
    field: str
    error: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "error": self.error}


def move_items(
    session: Session,
    job_id: uuid.UUID,
    stage: str,
    *,
    passed: Sequence[int],
    failed: Mapping[int, Sequence[ItemError]],
    evaluations: Mapping[int, str] | None = None,
    optimize: bool = True,
    publish: bool = False,
) -> None:
    """Passed items go to the next stage (or are done after the last; past optimize when the job does
    not `optimize`, on to publish when it does `publish`); failed ones stay at this stage, failed,
    with their errors. `evaluations` (position → ok/warning/blocked) is stored too."""
    following = stages.next_stage(stage, optimize=optimize, publish=publish)
    to_stage, to_status = (stage, ItemStatus.DONE) if following is None else (following, ItemStatus.PENDING)
    evaluations = evaluations or {}
    with psycopg_connection(session).cursor() as cursor:
        if passed:
            cursor.execute(
                "UPDATE job_items i SET stage = %s, status = %s, evaluation = v.evaluation,"
                " attempts = 0, updated_at = now()"
                " FROM unnest(%s::int[], %s::text[]) AS v(position, evaluation)"
                " WHERE i.job_id = %s AND i.position = v.position",
                (to_stage, to_status, list(passed), [evaluations.get(p) for p in passed], job_id),
            )
        if failed:
            errors: list[Any] = [Jsonb([e.to_json() for e in failed[p]]) for p in failed]
            cursor.execute(
                "UPDATE job_items i SET status = %s, errors = v.errors, updated_at = now()"
                " FROM unnest(%s::int[], %s::jsonb[]) AS v(position, errors)"
                " WHERE i.job_id = %s AND i.position = v.position",
                (ItemStatus.FAILED, list(failed), errors, job_id),
            )


def fail_items(session: Session, job_id: uuid.UUID, number: int, stage: str, *, reason: str) -> int:
    """Every item of the chunk still waiting at `stage` fails with `reason` (the stage gave up)."""
    items = claim_items(session, job_id, number, stage)
    error = [ItemError("product", reason)]
    move_items(session, job_id, stage, passed=[], failed={item.position: error for item in items})
    return len(items)


@dataclass
class StageResult:
    """What one stage did with one chunk (for the log and the next message)."""

    product_ids: list[int] = field(default_factory=list)  # passed
    skipped: int = 0  # passed without work: their inputs had not changed
    failed_source_ids: list[str | None] = field(default_factory=list)

    @property
    def moved_on(self) -> bool:
        return bool(self.product_ids)


class ChunkWork:
    """Collects each claimed item's fate while a stage works through a chunk, then writes them."""

    def __init__(
        self, stage: str, items: Sequence[StageItem], *, optimize: bool = True, publish: bool = False
    ) -> None:
        self.stage = stage
        self.items = items
        self.optimize = optimize
        self.publish = publish
        self.passed: list[int] = []
        self.failed: dict[int, list[ItemError]] = {}
        self.evaluations: dict[int, str] = {}
        self.result = StageResult()

    def passes(self, item: StageItem, *, skipped: bool = False, evaluation: str | None = None) -> None:
        assert item.product_id is not None
        self.passed.append(item.position)
        self.result.product_ids.append(item.product_id)
        self.result.skipped += skipped
        if evaluation is not None:
            self.evaluations[item.position] = evaluation

    def product_of(self, item: StageItem, products: Mapping[int, ProductRow]) -> ProductRow | None:
        """The item's product row; None, with the item failed, when it was deleted meanwhile."""
        product = products.get(item.product_id) if item.product_id is not None else None
        if product is None:
            self.fails(item, [ItemError("product", f"the product was deleted before its {self.stage} stage")])
        return product

    def fails(self, item: StageItem, errors: Sequence[ItemError]) -> None:
        self.failed[item.position] = list(errors)
        self.result.failed_source_ids.append(item.source_id)

    def finish(self, session: Session, job_id: uuid.UUID) -> StageResult:
        move_items(
            session,
            job_id,
            self.stage,
            passed=self.passed,
            failed=self.failed,
            evaluations=self.evaluations,
            optimize=self.optimize,
            publish=self.publish,
        )
        return self.result


def read_products(session: Session, columns: str, ids: Sequence[int]) -> dict[int, Row[Any]]:
    """The products `ids` by id, with `columns` (SQL, a constant of the calling stage) and `id`."""
    query = text(f"SELECT id, {columns} FROM products WHERE id = ANY(:ids)")  # noqa: S608 - constant
    return {row.id: row for row in session.execute(query, {"ids": list(ids)})}


def read_listings(
    session: Session, columns: str, ids: Sequence[int], marketplaces: Sequence[str]
) -> dict[tuple[int, str], Row[Any]]:
    """The listings of products `ids` on `marketplaces`, by (product id, marketplace)."""
    query = text(
        f"SELECT product_id, marketplace, {columns} FROM product_listings"  # noqa: S608 - constant
        " WHERE product_id = ANY(:ids) AND marketplace = ANY(:marketplaces)"
    )
    rows = session.execute(query, {"ids": list(ids), "marketplaces": list(marketplaces)})
    return {(row.product_id, row.marketplace): row for row in rows}


def product_ids(items: Sequence[StageItem]) -> list[int]:
    return [item.product_id for item in items if item.product_id is not None]

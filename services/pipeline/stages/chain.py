"""Stages back to back on one chunk, in one transaction: one read, the stages in memory, one write.

normalize → price → score need nothing from outside (the model's copy is optimize's, between
normalize and price, for jobs that ask for it), so a chunk goes through them in one message: its
items are claimed once at the first stage, the products and listings read once with what every stage
of the run needs, each stage works on those rows and changes them in memory as it would have written
them (the next stage sees what the last one decided), and then the products, the listings and the
price history are written once each, and every item is moved once: past the last stage, or failed
at the stage that failed it, with its errors. An item's stage and status are what the job's per-stage
counts are derived from, so each stage's status is recorded as before, in the same transaction.

A single stage is the same run with one step (normalize_chunk, price_chunk, score_chunk).

The read is in two parts: first the keys and small columns of every product and listing, from which
each step tells whether it has work on a product (its key changed); then the large columns (text,
images, attributes, competitors, the normalized JSON) of only those products. A re-import of
unchanged products reads no payload at all.

The write: the listings' columns come in three groups, each written only by its stage (normalize:
the copy; price: the price; score: the quality and readiness). New listings (a fresh product's) are
COPYed straight into the table. Those that exist are COPYed into a temporary table with every
group, NULL where the stage did not run, and one INSERT … ON CONFLICT merges them; a group's key
column (normalize_key, price_key, score_key) is never NULL when its stage wrote it, which is how the
merge tells a group to keep from a group to write. The products get one UPDATE (normalize's columns
and score's), the price history one COPY.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from models import ItemStatus, ProductStatus, stages
from services.pipeline.bulk import copy_rows
from services.pipeline.items import ChunkWork, ItemError, StageItem, StageResult, claim_items, product_ids
from services.platform.db import psycopg_connection


class Record:
    """A row read once and changed in memory by the stages of a run (attributes: its columns)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # typing: any column; a missing one is still an error
        raise AttributeError(name)

    if TYPE_CHECKING:  # any column may be set; declared for the type checker only (a setter is slow)

        def __setattr__(self, name: str, value: Any) -> None: ...


# The listings' columns each stage writes, in the order of the COPY; the first is its key.
NORMALIZE_LISTING = (
    ("normalize_key", "text"), ("title", "text"), ("description_html", "text"), ("ai_status", "text"),
    ("ai_reason", "text"),
)  # fmt: skip
# What a new deterministic copy clears: the model's copy and what it cost belong to the copy replaced.
MODEL_COPY_COLUMNS = (
    "ai_grounding", "ai_model", "ai_prompt_version", "ai_prompt_tokens", "ai_completion_tokens", "ai_key",
)  # fmt: skip
PRICE_LISTING = (
    ("price_key", "text"), ("price", "numeric"), ("currency", "text"), ("price_status", "text"),
    ("proposed_price", "numeric"), ("floor", "numeric"), ("vat_percent", "numeric"),
    ("fee_percent", "numeric"),
)  # fmt: skip
SCORE_LISTING = (
    ("score_key", "text"), ("quality_score", "smallint"), ("grade", "text"), ("quality", "jsonb"),
    ("evaluation", "text"), ("rules", "jsonb"), ("language", "text"), ("publishable", "boolean"),
    ("blockers", "jsonb"),
)  # fmt: skip
LISTING_GROUPS = {
    stages.NORMALIZE: NORMALIZE_LISTING, stages.PRICE: PRICE_LISTING, stages.SCORE: SCORE_LISTING
}  # fmt: skip
# Every column a listing may be read with, so a listing made in memory has them all.
LISTING_READ = (
    "normalize_key", "ai_status", "ai_reason", "title", "description_html", "ai_grounding", "ai_key",
    "price", "currency", "price_key", "proposed_price", "price_status", "floor", "vat_percent", "fee_percent",
    "quality_score", "evaluation", "score_key",
)  # fmt: skip

NORMALIZE_PRODUCT = (
    ("normalize_key", "text"), ("normalized_title", "text"), ("normalized_brand", "text"), ("model", "text"),
    ("category_path", "text"), ("specifications", "jsonb"), ("normalized_text", "jsonb"),
)  # fmt: skip
SCORE_PRODUCT = (("scored", "boolean"), ("optimization_score", "double precision"), ("evaluation", "text"))

_LISTINGS_TABLE = "stage_chain_listings"
_PRODUCTS_TABLE = "stage_chain_products"
HISTORY_COLUMNS = (
    ("product_id", "bigint"), ("marketplace", "text"), ("job_id", "uuid"), ("price", "numeric"),
    ("currency", "text"), ("status", "text"), ("applied", "boolean"), ("outliers", "smallint"),
    ("competitors", "jsonb"), ("decision", "jsonb"),
)  # fmt: skip


@dataclass
class ChunkRows:
    """The chunk's products and listings as the run has them, and what its stages changed."""

    products: dict[int, Record]
    listings: dict[tuple[int, str], Record]
    # (product id, marketplace) → the stages that wrote the listing
    written: dict[tuple[int, str], set[str]] = field(default_factory=dict)
    normalized: set[int] = field(default_factory=set)  # products normalize wrote
    scored: set[int] = field(default_factory=set)  # products score wrote
    history: list[tuple[Any, ...]] = field(default_factory=list)  # price history rows (HISTORY_COLUMNS)
    stored: set[tuple[int, str]] = field(init=False)  # the listings read: they exist in the table

    def __post_init__(self) -> None:
        self.stored = set(self.listings)

    def listing(self, product_id: int, marketplace: str) -> Record | None:
        return self.listings.get((product_id, marketplace))

    def write_listing(self, stage: str, product_id: int, marketplace: str, **values: Any) -> Record:
        """The listing with `values` (of `stage`'s group), made when it is new."""
        key = (product_id, marketplace)
        listing = self.listings.get(key)
        if listing is None:
            listing = self.listings[key] = Record(
                product_id=product_id, marketplace=marketplace, **dict.fromkeys(LISTING_READ)
            )
        listing.__dict__.update(values)
        self.written.setdefault(key, set()).add(stage)
        return listing


class StepWork(Protocol):
    """A step started on one chunk (with what it reads once per chunk: a profile, the rules)."""

    def stale(self, product: Record, rows: ChunkRows) -> bool:
        """Whether the step has work on `product`: its key differs from what the rows hold. Reads
        only the light columns."""

    def work(self, work: ChunkWork, rows: ChunkRows) -> None:
        """Set each item's fate on `work`, changing the rows as the stage would write them."""


@dataclass(frozen=True)
class Step:
    """One stage of a run: the columns it reads (SQL expressions, each named) and how it starts on
    a chunk. `heavy` columns (large text and JSON) are read only for the products some step of the
    run has work on: a re-import of unchanged products reads keys, not payloads."""

    stage: str
    light: tuple[str, ...]
    heavy: tuple[str, ...]
    listing_columns: tuple[str, ...]
    start: Callable[[Session], StepWork]


def stages_run_from(stage: str, *, optimize: bool) -> tuple[str, ...]:
    """The stages one message runs back to back from `stage`: through score, since none of them
    waits for anything outside, except normalize of a job that optimizes (the model comes next)."""
    if stage == stages.NORMALIZE:
        return (stages.NORMALIZE,) if optimize else (stages.NORMALIZE, stages.PRICE, stages.SCORE)
    if stage == stages.PRICE:
        return (stages.PRICE, stages.SCORE)
    return (stage,)


def run_steps(
    session: Session,
    job_id: uuid.UUID,
    number: int,
    steps: Sequence[Step],
    *,
    marketplaces: Sequence[str],
    optimize: bool = True,
    publish: bool = False,
    only: Sequence[int] | None = None,
) -> dict[str, StageResult]:
    """Claim the chunk's items waiting at the first step's stage (those at positions `only`, when
    given), run the steps in order on them, write, and move each item: past the last step (to the
    job's next stage, or done), or failed at its stage. Returns each step's result, by stage."""
    first = steps[0].stage
    items = claim_items(session, job_id, number, first, only=only)
    results = {step.stage: StageResult() for step in steps}
    if not items:
        return results
    ids = product_ids(items)
    rows = ChunkRows(
        read_records(session, "products", _columns(steps, "light"), ids, ()),
        {
            (listing.product_id, listing.marketplace): listing
            for listing in read_records(
                session, "product_listings", _columns(steps, "listing_columns"), ids, marketplaces
            ).values()
        },
    )
    started = [step.start(session) for step in steps]
    # A product no step has work on is left as it is by every step; one that a step has work on may
    # change for the steps after it, so it is read whole (steps before the first stale one change nothing).
    stale = [pid for pid, product in rows.products.items() if any(s.stale(product, rows) for s in started)]
    heavy_columns = _columns(steps, "heavy")
    if stale and heavy_columns:
        for pid, heavy in read_records(session, "products", heavy_columns, stale, ()).items():
            rows.products[pid].__dict__.update(heavy.__dict__)
    fates: list[tuple[int, str, str, list[ItemError] | None, str | None]] = []
    reaching: Sequence[StageItem] = items
    evaluations: dict[int, str] = {}
    for step, run in zip(steps, started, strict=True):
        work = ChunkWork(step.stage, reaching)
        run.work(work, rows)
        results[step.stage] = work.result
        fates += [(p, step.stage, ItemStatus.FAILED, errors, None) for p, errors in work.failed.items()]
        evaluations.update(work.evaluations)
        passed = set(work.passed)
        reaching = [item for item in reaching if item.position in passed]
    following = stages.next_stage(steps[-1].stage, optimize=optimize, publish=publish)
    to_stage, to_status = (
        (steps[-1].stage, ItemStatus.DONE) if following is None else (following, ItemStatus.PENDING)
    )
    fates += [(item.position, to_stage, to_status, None, evaluations.get(item.position)) for item in reaching]
    _write(session, job_id, rows)
    _move(session, job_id, fates)
    return results


def _columns(steps: Sequence[Step], which: str) -> str:
    columns: dict[str, None] = {}
    for step in steps:
        columns.update(dict.fromkeys(getattr(step, which)))
    return ", ".join(columns)


def read_records(
    session: Session, table: str, columns: str, ids: Sequence[int], marketplaces: Sequence[str]
) -> dict[Any, Record]:
    """Products by id (`table` "products"), or listings by (product id, marketplace) of
    `marketplaces`, as Records with `columns` (SQL, constants of the stages) and their keys."""
    if table == "products":
        query = f"SELECT id, {columns} FROM products WHERE id = ANY(%s)"  # noqa: S608 - constants
        parameters: tuple[Any, ...] = (list(ids),)
    else:
        query = (
            f"SELECT product_id, marketplace, {columns} FROM product_listings"  # noqa: S608 - constants
            " WHERE product_id = ANY(%s) AND marketplace = ANY(%s)"
        )
        parameters = (list(ids), list(marketplaces))
    with psycopg_connection(session).cursor(row_factory=_records) as cursor:
        records = cursor.execute(query, parameters).fetchall()
    if table == "products":
        return {record.id: record for record in records}
    return {(record.product_id, record.marketplace): record for record in records}


def _records(cursor: Any) -> Callable[[Sequence[Any]], Record]:
    """A psycopg row factory: each row a Record, its attributes the columns (a dict made by zip,
    not a call with keyword arguments: a sixth of a re-import's run went to making rows)."""
    names = [column.name for column in cursor.description or ()]
    new = object.__new__

    def record(values: Sequence[Any]) -> Record:
        row: Record = new(Record)
        row.__dict__ = dict(zip(names, values, strict=True))
        return row

    return record


def _write(session: Session, job_id: uuid.UUID, rows: ChunkRows) -> None:
    with psycopg_connection(session).cursor() as cursor:
        if rows.normalized or rows.scored:
            _write_products(cursor, rows)
        if rows.written:
            _write_listings(cursor, rows)
        if rows.history:
            # Straight in: a (product, marketplace, job) is priced once, by the run that moves its
            # item past price in this same transaction (a second delivery claims nothing).
            names = ", ".join(name for name, _ in HISTORY_COLUMNS)
            with cursor.copy(f"COPY pricing_data ({names}) FROM STDIN") as copy:
                for row in rows.history:
                    copy.write_row(row)


def _write_listings(cursor: Any, rows: ChunkRows) -> None:
    """The listings the stages wrote: new ones COPYed straight in (a fresh product's, the usual
    case), those read from the table merged through a temporary one, each group of columns only
    where its stage wrote it. A listing another job inserted meanwhile makes the COPY fail, and the
    message's retry merges it."""
    groups = list(LISTING_GROUPS.items())
    columns = (("product_id", "bigint"), ("marketplace", "text"), *(c for _, group in groups for c in group))
    names = [name for name, _ in columns]
    new: list[tuple[Any, ...]] = []
    stored: list[tuple[Any, ...]] = []
    for (product_id, marketplace), written in sorted(rows.written.items()):
        listing = rows.listings[(product_id, marketplace)]
        values: list[Any] = [product_id, marketplace]
        for stage, group in groups:
            wrote = stage in written
            values += [getattr(listing, name) if wrote else None for name, _ in group]
        (stored if (product_id, marketplace) in rows.stored else new).append(tuple(values))
    if new:
        with cursor.copy(f"COPY product_listings ({', '.join(names)}) FROM STDIN") as copy:
            for row in new:
                copy.write_row(row)
    if not stored:
        return
    copy_rows(cursor, _LISTINGS_TABLE, columns, stored)
    updates = []
    for _, group in groups:
        key = group[0][0]
        updates += [
            f"{name} = CASE WHEN EXCLUDED.{key} IS NULL THEN product_listings.{name} ELSE EXCLUDED.{name} END"
            for name, _ in group
        ]
    normalize_key = NORMALIZE_LISTING[0][0]
    updates += [
        f"{name} = CASE WHEN EXCLUDED.{normalize_key} IS NULL THEN product_listings.{name} END"
        for name in MODEL_COPY_COLUMNS
    ]
    cursor.execute(
        f"INSERT INTO product_listings ({', '.join(names)}) SELECT {', '.join(names)}"  # noqa: S608
        f" FROM {_LISTINGS_TABLE} ORDER BY product_id, marketplace"
        f" ON CONFLICT (product_id, marketplace) DO UPDATE SET {', '.join(updates)}, updated_at = now()"
    )


def _write_products(cursor: Any, rows: ChunkRows) -> None:
    columns = (("id", "bigint"), *NORMALIZE_PRODUCT, *SCORE_PRODUCT)
    copied = []
    for product_id in sorted(rows.normalized | rows.scored):
        product = rows.products[product_id]
        values: list[Any] = [product_id]
        normalized = product_id in rows.normalized
        values += [getattr(product, name) if normalized else None for name, _ in NORMALIZE_PRODUCT]
        scored = product_id in rows.scored
        values += [scored, *(getattr(product, name) if scored else None for name, _ in SCORE_PRODUCT[1:])]
        copied.append(tuple(values))
    copy_rows(cursor, _PRODUCTS_TABLE, columns, copied)
    normalized_columns = {"normalized_text": "normalized"}  # the copy's name → the table's
    sets = [
        f"{normalized_columns.get(name, name)} = CASE WHEN s.normalize_key IS NULL"
        f" THEN p.{normalized_columns.get(name, name)} ELSE s.{name} END"
        for name, _ in NORMALIZE_PRODUCT
    ]
    sets += [f"{name} = CASE WHEN s.scored THEN s.{name} ELSE p.{name} END" for name, _ in SCORE_PRODUCT[1:]]
    # Only rows that change: a re-import of the same products writes nothing here.
    cursor.execute(
        f"UPDATE products p SET {', '.join(sets)}, status = CASE WHEN s.scored THEN %(scored)s"  # noqa: S608
        f" WHEN s.normalize_key IS NOT NULL THEN %(normalized)s ELSE p.status END, updated_at = now()"
        f" FROM {_PRODUCTS_TABLE} s WHERE p.id = s.id AND (s.normalize_key IS NOT NULL"
        f" OR p.status IS DISTINCT FROM %(scored)s"
        f" OR p.optimization_score IS DISTINCT FROM s.optimization_score"
        f" OR p.evaluation IS DISTINCT FROM s.evaluation)",
        {"scored": ProductStatus.SCORED, "normalized": ProductStatus.NORMALIZED},
    )


def _move(
    session: Session,
    job_id: uuid.UUID,
    fates: list[tuple[int, str, str, list[ItemError] | None, str | None]],
) -> None:
    """Each item to its stage and status, with its errors (failed) or evaluation (scored), at once."""
    errors: list[Any] = [
        None if problems is None else Jsonb([problem.to_json() for problem in problems])
        for _, _, _, problems, _ in fates
    ]
    with psycopg_connection(session).cursor() as cursor:
        cursor.execute(
            "UPDATE job_items i SET stage = v.stage, status = v.status,"
            " errors = CASE WHEN v.status = %s THEN v.errors ELSE i.errors END,"
            " evaluation = CASE WHEN v.status = %s THEN i.evaluation ELSE v.evaluation END,"
            " attempts = CASE WHEN v.status = %s THEN i.attempts ELSE 0 END, updated_at = now()"
            " FROM unnest(%s::int[], %s::text[], %s::text[], %s::jsonb[], %s::text[])"
            " AS v(position, stage, status, errors, evaluation)"
            " WHERE i.job_id = %s AND i.position = v.position",
            (
                ItemStatus.FAILED, ItemStatus.FAILED, ItemStatus.FAILED,
                [fate[0] for fate in fates], [fate[1] for fate in fates], [fate[2] for fate in fates],
                errors, [fate[4] for fate in fates], job_id,
            ),
        )  # fmt: skip

"""Accepting an import: the webhook row, the job and its products, in the caller's transaction.

The payload is in Postgres before the webhook answers 202; the message to the worker goes out after
the commit (the caller's job). Nothing here commits.

A webhook's request does no work per product: it stores the products once, as one JSON array
compressed with lz4 (job_bodies), and the worker's `import_job`
splits them into chunks and finds the duplicates (`split_body`) in the transaction that marks the job
running. A spreadsheet's rows are validated as they are read, so its request writes its chunks itself
(`accept_import_stream`).

An `Idempotency-Key` makes a repeated delivery return the first job: the same key with another body
is refused (`IdempotencyKeyReused`, a 422), and while the first request with a key is still being
stored, a second one is refused at once (`IdempotencyKeyInProgress`, a 409) rather than wait for it.
The second is told by a transaction-scoped advisory lock on the key, taken before the insert: it
ends with the transaction, so it also works behind Supabase's transaction pooler.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import lz4.block
import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import ImportJob, ItemStatus, JobStatus, PricingProfileRow, Webhook, stages
from services.imports.envelope import ImportRequest
from services.imports.product import validate_product
from services.platform.db import psycopg_connection

SOURCE_ID_MAX_LENGTH = 255


class IdempotencyKeyReused(ValueError):
    """The same Idempotency-Key came with a different body."""


class IdempotencyKeyInProgress(RuntimeError):
    """Another request with the same Idempotency-Key is being stored right now."""


class UnknownPricingProfile(ValueError):
    """`options.pricing_profile` names no stored profile."""


@dataclass(frozen=True, slots=True)
class AcceptedImport:
    job_id: uuid.UUID
    status: str
    received: int
    created: bool


def source_key(product: object) -> str | None:
    """The product's source id as the import stage will store it, if it has a usable one."""
    if not isinstance(product, dict):
        return None
    value = product.get("source_id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    key = str(value).replace("\x00", "").strip()  # Postgres text cannot hold NUL
    # Too long is invalid (the import stage says so): never let two such ids pass for one.
    return key if 0 < len(key) <= SOURCE_ID_MAX_LENGTH else None


def accept_import(
    session: Session,
    request: ImportRequest,
    *,
    body_sha256: str,
    body_bytes: int,
    chunk_size: int,
    idempotency_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> AcceptedImport:
    """Store the job, its webhook row and its products (as one body, split by the worker into chunks
    of `chunk_size`). For a repeated Idempotency-Key, the first job (nothing stored)."""
    accepted = _accept_job(
        session, request, body_sha256=body_sha256, body_bytes=body_bytes, idempotency_key=idempotency_key,
        headers=headers,
    )  # fmt: skip
    if accepted.created:
        _store_body(session, accepted.job_id, request.products, chunk_size)
    return accepted


def _accept_job(
    session: Session,
    request: ImportRequest,
    *,
    body_sha256: str,
    body_bytes: int,
    idempotency_key: str | None,
    headers: dict[str, str] | None,
) -> AcceptedImport:
    """The job and its webhook row, without its products; for a repeated key, the first job."""
    if idempotency_key is not None and not _lock_idempotency_key(session, idempotency_key):
        raise IdempotencyKeyInProgress(
            "a request with this Idempotency-Key is still being stored; retry in a moment to get its job"
        )
    if (name := request.options.pricing_profile) is not None:
        _check_profile(session, name)
    job_id = uuid.uuid4()
    received = len(request.products)
    inserted = session.execute(
        insert(ImportJob)
        .values(
            id=job_id,
            source=request.source,
            status=JobStatus.PENDING,
            options=request.options.model_dump(mode="json", exclude_none=True),
            total_products=received,
            idempotency_key=idempotency_key,
            request_hash=body_sha256,
        )
        .on_conflict_do_nothing(index_elements=[ImportJob.idempotency_key])
        .returning(ImportJob.id)
    ).scalar_one_or_none()

    if inserted is None:
        # A repeated delivery: answer with the first job (committed: we hold the key's lock, which
        # its request held until its transaction ended).
        first = session.execute(
            select(ImportJob.id, ImportJob.status, ImportJob.total_products, ImportJob.request_hash).where(
                ImportJob.idempotency_key == idempotency_key
            )
        ).one()
        if first.request_hash != body_sha256:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different body; use a new key per batch"
            )
        return AcceptedImport(first.id, first.status, first.total_products, created=False)

    session.add(
        Webhook(
            source=request.source,
            event_type=request.event_type,
            payload=request.envelope,
            headers=headers or {},
            body_sha256=body_sha256,
            body_bytes=body_bytes,
            import_job_id=job_id,
        )
    )
    session.flush()
    return AcceptedImport(job_id, JobStatus.PENDING, received, created=True)


def _store_body(session: Session, job_id: uuid.UUID, products: list[Any], chunk_size: int) -> None:
    # Serialized once, whole, and compressed (1.4 ms for 1,000 products): no chunking, no duplicate
    # search here, in the request (split_body does those in the worker). A tenth of the bytes to
    # write and to the WAL, which the webhook's commit waits for.
    with psycopg_connection(session).cursor() as cursor:
        cursor.execute(
            "INSERT INTO job_bodies (job_id, chunk_size, body) VALUES (%s, %s, %s)",
            (job_id, chunk_size, lz4.block.compress(orjson.dumps(products))),
        )


def stored_products(body: bytes) -> list[Any]:
    """The products of a stored body (job_bodies.body), as the request received them."""
    products: list[Any] = orjson.loads(lz4.block.decompress(body))
    return products


def split_body(session: Session, job_id: uuid.UUID) -> int | None:
    """The job's stored body written as its chunks, a job_chunks row per `chunk_size` products with
    their duplicates' positions, and deleted; returns how many products it held, None when the job
    has no body (split already, or a job whose request wrote its chunks itself).

    In the caller's transaction: a crash before the commit leaves the body for the next delivery,
    and the job row's lock (services.pipeline.jobs.begin_job) keeps a concurrent one from splitting
    it twice.
    """
    with psycopg_connection(session).cursor(binary=True) as cursor:
        stored = cursor.execute(
            "DELETE FROM job_bodies WHERE job_id = %s RETURNING chunk_size, body", (job_id,)
        ).fetchone()
    if stored is None:
        return None
    chunk_size, body = stored
    products = stored_products(body)
    _store_chunks(session, job_id, products, chunk_size)
    return len(products)


def _lock_idempotency_key(session: Session, key: str) -> bool:
    """Takes the key's advisory lock until the transaction ends; False if another transaction has it."""
    # 64 bits of a hash, in a namespace of its own, so no other advisory lock can collide with it.
    digest = hashlib.sha256(b"import_jobs.idempotency_key:" + key.encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(lock_id))))


def _check_profile(session: Session, name: str) -> None:
    # Said now, to the sender, rather than as a failure of every product at the price stage.
    names = list(session.scalars(select(PricingProfileRow.name).order_by(PricingProfileRow.name)))
    if name not in names:
        raise UnknownPricingProfile(f"no pricing profile named {name!r}; known: {', '.join(names)}")


def duplicate_positions(products: list[Any]) -> set[int]:
    """Positions whose source_id comes again later in the batch: the last occurrence is imported
    (it is the newest scrape), the earlier ones are reported as duplicates."""
    last_position: dict[str, int] = {}
    duplicates: set[int] = set()
    for position, product in enumerate(products):
        key = source_key(product)
        if key is None:
            continue
        if key in last_position:
            duplicates.add(last_position[key])
        last_position[key] = position
    return duplicates


def _store_chunks(session: Session, job_id: uuid.UUID, products: list[Any], chunk_size: int) -> None:
    """The products as received, one row per chunk: what the import stage will read, chunk by chunk."""
    duplicates = duplicate_positions(products)
    rows = []
    for number, first in enumerate(range(0, len(products), chunk_size)):
        chunk = products[first : first + chunk_size]
        rows.append(
            (
                job_id,
                number,
                first,
                len(chunk),
                orjson.dumps(chunk).decode(),
                sorted(p for p in range(first, first + len(chunk)) if p in duplicates),
            )
        )
    with psycopg_connection(session).cursor() as cursor:
        cursor.executemany(
            "INSERT INTO job_chunks (job_id, number, first_position, size, products, duplicates)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )


def accept_import_stream(
    session: Session,
    request: ImportRequest,
    products: Iterable[tuple[str, Any]],
    *,
    body_sha256: str,
    body_bytes: int,
    chunk_size: int,
    idempotency_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> AcceptedImport:
    """`accept_import` for products that come one at a time (a spreadsheet's rows), in memory that
    does not grow with them: each chunk's row is written as it fills (no body: nothing for the worker
    to split), `total_products` at the end.

    The job and its webhook row are stored as `accept_import` stores them (`request` gives the
    source, options, event type and envelope; its `products` are not read), the Idempotency-Key
    rules included: for a repeated key the first job is returned and `products` is not read.

    Each product comes with a label ("row 17") and is validated as the import stage will validate
    it (`validate_product`). One that fails is stored at once as the import stage stores a failed
    product, a failed item of the job with its fields and reasons, each field prefixed with the
    label ("row 17: price"); the others go on, in chunks, to the import stage. The failed ones take
    the job's first positions, in the order they came (the job's errors list them first), the chunks
    the following ones. The same source_id twice: the later product is imported and the earlier
    reported as `duplicate`, as in a batch; only products that passed count (a failed one never
    hides another). Kept per product until the end: its source_id, to find duplicates.
    """
    accepted = _accept_job(
        session,
        replace(request, products=[]),
        body_sha256=body_sha256,
        body_bytes=body_bytes,
        idempotency_key=idempotency_key,
        headers=headers,
    )
    if not accepted.created:
        return accepted
    writer = _StreamedChunks(session, accepted.job_id, chunk_size)
    for label, product in products:
        checked = validate_product(product)
        if isinstance(checked, list):
            errors = [{"field": f"{label}: {error.field}", "error": error.error} for error in checked]
            writer.fail(source_key(product), errors)
        else:
            writer.add(product)
    total = writer.finish()
    session.execute(update(ImportJob).where(ImportJob.id == accepted.job_id).values(total_products=total))
    return AcceptedImport(accepted.job_id, accepted.status, total, created=True)


class _StreamedChunks:
    """A streamed job's chunks and failed items, written as they fill (see accept_import_stream).

    Positions are given in two sequences: valid products from 0 in their chunks, failed ones from 0
    as items; `finish` moves the chunks after the failed items and marks the duplicates."""

    def __init__(self, session: Session, job_id: uuid.UUID, chunk_size: int) -> None:
        self.connection = psycopg_connection(session)
        self.job_id = job_id
        self.chunk_size = chunk_size
        self.chunk: list[Any] = []
        self.chunks = 0
        self.valid = 0
        self.failed: list[tuple[Any, ...]] = []
        self.failed_count = 0
        self.last_position: dict[str, int] = {}
        self.duplicates: set[int] = set()

    def add(self, product: Any) -> None:
        if (key := source_key(product)) is not None:
            if (earlier := self.last_position.get(key)) is not None:
                self.duplicates.add(earlier)
            self.last_position[key] = self.valid
        self.chunk.append(product)
        self.valid += 1
        if len(self.chunk) >= self.chunk_size:
            self._write_chunk()

    def fail(self, source_id: str | None, errors: list[dict[str, str]]) -> None:
        self.failed.append(
            (self.job_id, self.failed_count, source_id, stages.IMPORT, ItemStatus.FAILED, Jsonb(errors))
        )
        self.failed_count += 1
        if len(self.failed) >= self.chunk_size:
            self._write_failed()

    def finish(self) -> int:
        """Write what is left, put the chunks after the failed items; returns the products' count."""
        if self.chunk:
            self._write_chunk()
        if self.failed:
            self._write_failed()
        shift = self.failed_count
        by_chunk: dict[int, list[int]] = {}
        for position in sorted(self.duplicates):
            by_chunk.setdefault(position // self.chunk_size, []).append(position + shift)
        with self.connection.cursor() as cursor:
            if shift:
                cursor.execute(
                    "UPDATE job_chunks SET first_position = first_position + %s WHERE job_id = %s",
                    (shift, self.job_id),
                )
            if by_chunk:
                cursor.executemany(
                    "UPDATE job_chunks SET duplicates = %s WHERE job_id = %s AND number = %s",
                    [(positions, self.job_id, number) for number, positions in by_chunk.items()],
                )
        self.last_position.clear()
        return self.valid + self.failed_count

    def _write_chunk(self) -> None:
        first = self.chunks * self.chunk_size
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO job_chunks (job_id, number, first_position, size, products, duplicates)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (self.job_id, self.chunks, first, len(self.chunk), orjson.dumps(self.chunk).decode(), []),
            )
        self.chunks += 1
        self.chunk = []

    def _write_failed(self) -> None:
        with (
            self.connection.cursor() as cursor,
            cursor.copy(
                "COPY job_items (job_id, position, source_id, stage, status, errors) FROM STDIN"
            ) as copy,
        ):
            for row in self.failed:
                copy.write_row(row)
        self.failed = []

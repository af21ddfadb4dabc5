"""The straightforward import, for comparison: `dramatiq bench.baseline_worker`.

It consumes the same `pipeline.import_job` messages as the real worker, from the same queue, but does
what a first version would: for each product, select it by source id, insert or update it through
the ORM, and commit. Used only by bench/import_throughput.py.
"""

from __future__ import annotations

import uuid

import dramatiq
import orjson
from sqlalchemy import func, select, update

from models import ChunkStatus, ImportJob, ItemOutcome, ItemStatus, JobChunk, JobItem, JobStatus, Product
from schemas.product import ProductIn, validate_product
from services import jobs
from services.product_import import content_hashes
from services.settings import get_settings
from workers.broker import broker
from workers.db import session_scope

FIELDS = (
    "source_url",
    "title",
    "description",
    "price",
    "currency",
    "cost",
    "stock",
    "brand",
    "category",
    "ean",
)


@dramatiq.actor(actor_name="pipeline.import_job", queue_name=get_settings().worker_queue, broker=broker)
def import_job(job_id: str) -> None:
    key = uuid.UUID(job_id)
    with session_scope() as session:
        job = session.get(ImportJob, key)
        assert job is not None
        job.status, job.started_at = JobStatus.RUNNING, func.now()
        source = job.source
        chunks = session.execute(
            select(JobChunk.first_position, JobChunk.products).where(JobChunk.job_id == key)
        ).all()
    raw_products = [
        (first + offset, raw)
        for first, products in chunks
        for offset, raw in enumerate(orjson.loads(products))
    ]

    for position, raw in raw_products:
        with session_scope() as session:
            checked = validate_product(raw)
            if not isinstance(checked, ProductIn):
                errors = [{"field": e.field, "error": e.error} for e in checked]
                session.add(JobItem(job_id=key, position=position, status=ItemStatus.FAILED, errors=errors))
                continue
            product = session.scalars(
                select(Product).where(
                    Product.source_platform == source, Product.source_id == checked.source_id
                )
            ).first()
            outcome = ItemOutcome.UPDATED
            if product is None:
                product = Product(source_platform=source, source_id=checked.source_id)
                session.add(product)
                outcome = ItemOutcome.CREATED
            for name in FIELDS:
                setattr(product, name, getattr(checked, name))
            product.images = checked.images
            product.attributes = checked.attributes
            product.competitors = [c.model_dump(mode="json") for c in checked.competitors]
            product.raw_data = checked.raw_extra()
            product.content_hash, product.offer_hash = content_hashes(raw)
            product.last_import_job_id = key
            session.flush()
            session.add(
                JobItem(job_id=key, position=position, source_id=checked.source_id, product_id=product.id,
                        status=ItemStatus.DONE, outcome=outcome)
            )  # fmt: skip

    with session_scope() as session:
        session.execute(update(JobChunk).where(JobChunk.job_id == key).values(status=ChunkStatus.DONE))
        jobs.finish_if_done(session, key)

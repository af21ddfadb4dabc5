"""The baselines' straightforward import of one product: validate, select by source id, ORM write."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ItemOutcome, ItemStatus, JobItem, Product
from services.imports.product import ProductIn, validate_product
from services.pipeline.stages.import_ import content_hashes

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


def import_one(
    session: Session,
    key: uuid.UUID,
    source: str,
    position: int,
    raw: dict[str, Any],
    *,
    stage: str,
    status: str,
) -> bool:
    """Validate one product, select it by source id, insert or update it through the ORM, and add
    its job item at `stage` with `status`; False (and a failed item) when it is invalid."""
    checked = validate_product(raw)
    if not isinstance(checked, ProductIn):
        errors = [{"field": e.field, "error": e.error} for e in checked]
        session.add(JobItem(job_id=key, position=position, status=ItemStatus.FAILED, errors=errors))
        return False
    product = session.scalars(
        select(Product).where(Product.source_platform == source, Product.source_id == checked.source_id)
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
                stage=stage, status=status, outcome=outcome)
    )  # fmt: skip
    return True

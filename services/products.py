"""Reading and deleting products: filters, pages, counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import JobItem, Product


@dataclass(frozen=True, slots=True)
class ProductFilters:
    status: str | None = None
    source: str | None = None
    brand: str | None = None
    job_id: uuid.UUID | None = None
    search: str | None = None


def _filtered(query: Select[Product], filters: ProductFilters) -> Select[Product]:
    if filters.status:
        query = query.where(Product.status == filters.status)
    if filters.source:
        query = query.where(Product.source_platform == filters.source.lower())
    if filters.brand:
        query = query.where(func.lower(Product.brand) == filters.brand.lower())
    if filters.search:
        # A literal substring: the user's % and _ mean themselves.
        escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Product.title.ilike(f"%{escaped}%", escape="\\"))
    if filters.job_id:
        in_job = select(JobItem.product_id).where(
            JobItem.job_id == filters.job_id, JobItem.product_id.isnot(None)
        )
        query = query.where(Product.id.in_(in_job))
    return query


def list_products(
    session: Session, filters: ProductFilters, *, page: int, page_size: int
) -> tuple[list[Product], int]:
    """One page, newest first, and the number of products matching the filters."""
    query = _filtered(select(Product), filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = session.scalars(query.order_by(Product.id.desc()).offset((page - 1) * page_size).limit(page_size))
    return list(items), total


def get_product(session: Session, product_id: int) -> Product | None:
    return session.get(Product, product_id)


def delete_product(session: Session, product_id: int) -> bool:
    return bool(
        session.execute(delete(Product).where(Product.id == product_id).returning(Product.id)).first()
    )


def count_by(session: Session) -> tuple[int, dict[str, int], dict[str, int]]:
    """Total, per status, per source platform."""
    by_status = _counts(session, Product.status)
    return sum(by_status.values()), by_status, _counts(session, Product.source_platform)


def _counts(session: Session, column: InstrumentedAttribute[str]) -> dict[str, int]:
    return {value: n for value, n in session.execute(select(column, func.count()).group_by(column))}

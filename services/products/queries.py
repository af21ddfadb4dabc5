"""Reading and deleting products: filters, pages, counts, listings and price decisions."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import JobItem, Listing, PriceRecord, Product


@dataclass(frozen=True, slots=True)
class ProductFilters:
    status: str | None = None
    source: str | None = None
    brand: str | None = None
    job_id: uuid.UUID | None = None
    search: str | None = None
    # On one marketplace when `marketplace` is given (its listing's grade, evaluation, readiness and
    # copy), else on any: a product is "blocked" when any of its listings is, "publishable" when any
    # of its listings may go out.
    marketplace: str | None = None
    grade: str | None = None
    evaluation: str | None = None
    publishable: bool | None = None
    ai_status: str | None = None


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
    if filters.marketplace or filters.grade or filters.publishable is not None or filters.ai_status:
        listing = select(Listing.product_id).where(Listing.product_id == Product.id)
        if filters.marketplace:
            listing = listing.where(Listing.marketplace == filters.marketplace.lower())
        if filters.grade:
            listing = listing.where(Listing.grade == filters.grade.upper())
        if filters.evaluation and filters.marketplace:
            listing = listing.where(Listing.evaluation == filters.evaluation.lower())
        if filters.publishable is not None:
            listing = listing.where(Listing.publishable.is_(filters.publishable))
        if filters.ai_status:
            listing = listing.where(Listing.ai_status == filters.ai_status.lower())
        query = query.where(exists(listing))
    if filters.evaluation and not filters.marketplace:
        query = query.where(Product.evaluation == filters.evaluation.lower())
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


def listings_of(session: Session, product_ids: list[int]) -> dict[int, list[Listing]]:
    """Each product's listings, by marketplace id."""
    found: dict[int, list[Listing]] = defaultdict(list)
    query = select(Listing).where(Listing.product_id.in_(product_ids)).order_by(Listing.marketplace)
    for listing in session.scalars(query):
        found[listing.product_id].append(listing)
    return found


def latest_prices(session: Session, product_id: int) -> dict[str, PriceRecord]:
    """The latest price decision per marketplace."""
    query = (
        select(PriceRecord)
        .where(PriceRecord.product_id == product_id)
        .order_by(PriceRecord.marketplace, PriceRecord.created_at.desc(), PriceRecord.id.desc())
        .ext(distinct_on(PriceRecord.marketplace))
    )
    return {record.marketplace: record for record in session.scalars(query)}


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    by_status: dict[str, int]
    by_source: dict[str, int]
    by_evaluation: dict[str, int]


def count_by(session: Session) -> Counts:
    """Total, per status, per source platform, per evaluation."""
    by_status = _counts(session, Product.status)
    return Counts(
        total=sum(by_status.values()),
        by_status=by_status,
        by_source=_counts(session, Product.source_platform),
        by_evaluation=_counts(session, Product.evaluation),
    )


def _counts(session: Session, column: InstrumentedAttribute[Any]) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(column.isnot(None)).group_by(column))
    return {value: n for value, n in rows}

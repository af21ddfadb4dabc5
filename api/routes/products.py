"""The seed's product routes: list with filters and pages, read, delete, counts."""

from __future__ import annotations

import math
import uuid
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from api.auth import AUTH_RESPONSES, ApiKeyAccess
from api.deps import SessionDep
from api.pagination import next_page_url
from schemas.export import SyncLogPage
from schemas.products import (
    PriceHistory,
    ProductDeleted,
    ProductDetail,
    ProductExplanation,
    ProductPage,
    ProductStats,
)
from services.marketplaces import MARKETPLACES
from services.products import queries as products
from services.products import views as explanations
from services.products.price_history import price_history
from services.products.queries import ProductFilters
from services.publishing.status import sync_logs

# GETs need a read key, every other method a write key (api/auth.py).
router = APIRouter(
    prefix="/api/products", tags=["products"], dependencies=[ApiKeyAccess], responses=AUTH_RESPONSES
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such product"}}
# Ids are bigint: a larger number is a clear 422, not a database error.
ProductId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Marketplace = Enum("Marketplace", {m: m for m in MARKETPLACES}, type=str)  # type: ignore[misc]
Grade = Literal["A", "B", "C", "D", "E"]
Evaluation = Literal["ok", "warning", "blocked"]
AiStatus = Literal["optimized", "fallback", "deterministic"]


@router.get("", response_model=ProductPage)
def list_products(
    request: Request,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
    product_status: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    source: Annotated[str | None, Query(max_length=50)] = None,
    brand: Annotated[str | None, Query(max_length=200)] = None,
    job_id: Annotated[uuid.UUID | None, Query(description="Products of one import job")] = None,
    search: Annotated[str | None, Query(max_length=200, description="Text in the title")] = None,
    marketplace: Annotated[
        Marketplace | None, Query(description="Products with a listing on this marketplace")
    ] = None,
    grade: Annotated[
        Grade | None, Query(description="Listing grade A-E (on `marketplace` when given, else on any)")
    ] = None,
    evaluation: Annotated[
        Evaluation | None,
        Query(description="ok / warning / blocked (on `marketplace` when given, else the product's worst)"),
    ] = None,
    publishable: Annotated[
        bool | None,
        Query(description="Listings that may go out, or not (on `marketplace` when given, else on any)"),
    ] = None,
    ai_status: Annotated[
        AiStatus | None,
        Query(description="How the copy was written (on `marketplace` when given, else on any listing)"),
    ] = None,
) -> ProductPage:
    filters = ProductFilters(
        status=product_status, source=source, brand=brand, job_id=job_id, search=search,
        marketplace=marketplace.value if marketplace else None, grade=grade, evaluation=evaluation,
        publishable=publishable, ai_status=ai_status,
    )  # fmt: skip
    items, total = products.list_products(session, filters, page=page, page_size=page_size)
    total_pages = math.ceil(total / page_size)
    return ProductPage(
        items=explanations.product_page(session, items),
        total=total,
        page=page,
        page_size=page_size,
        total_pages=total_pages,
        next=next_page_url(request, page, total_pages),
    )


@router.get("/stats/summary", response_model=ProductStats)
def product_stats(session: SessionDep) -> ProductStats:
    counts = products.count_by(session)
    return ProductStats(
        total_products=counts.total,
        by_status=counts.by_status,
        by_source=counts.by_source,
        by_evaluation=counts.by_evaluation,
    )


@router.get("/{product_id}", response_model=ProductDetail, responses=NOT_FOUND)
def get_product(product_id: ProductId, session: SessionDep) -> ProductDetail:
    """The product: source fields, normalized fields, and its listing on each marketplace."""
    detail = explanations.product_detail(session, product_id)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
    return detail


@router.get("/{product_id}/explain", response_model=ProductExplanation, responses=NOT_FOUND)
def explain_product(product_id: ProductId, session: SessionDep) -> ProductExplanation:
    """Every stage's result for one product and why: what normalize changed, which competitors
    counted and which were dropped, the price trace, the score's parts and fixes, the rules that fired."""
    explanation = explanations.explain_product(session, product_id)
    if explanation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
    return explanation


@router.delete("/{product_id}", response_model=ProductDeleted, responses=NOT_FOUND)
def delete_product(product_id: ProductId, session: SessionDep) -> ProductDeleted:
    if not products.delete_product(session, product_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
    session.commit()
    return ProductDeleted()


@router.get("/{product_id}/sync-logs", response_model=SyncLogPage, responses=NOT_FOUND)
def product_sync_logs(
    product_id: ProductId,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SyncLogPage:
    """The product's exchanges with marketplaces (publish, preview, update) and the listings the
    publish stage skipped, with why: newest first, with the values before and after and the
    marketplace's answer."""
    if products.get_product(session, product_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Product not found")
    return SyncLogPage(product_id=product_id, items=sync_logs(session, product_id, limit=limit))


@router.get("/{product_id}/price-history", response_model=PriceHistory, responses=NOT_FOUND)
def product_price_history(
    product_id: ProductId,
    session: SessionDep,
    marketplace: Annotated[Marketplace | None, Query(description="Decisions on this marketplace")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PriceHistory:
    """Every stored price decision of the product (one per job and marketplace), newest first, with
    what moved it: the strategy used, why (the decision's reasons, else its last step), and the
    change from the marketplace's previous decision (amount and percent)."""
    if products.get_product(session, product_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
    items = price_history(
        session, product_id, marketplace=marketplace.value if marketplace else None, limit=limit
    )
    return PriceHistory(product_id=product_id, items=items)

"""The seed's product routes: list with filters and pages, read, delete, counts."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import SessionDep
from schemas.products import ProductDeleted, ProductPage, ProductRead, ProductStats
from services import products
from services.products import ProductFilters

router = APIRouter(prefix="/api/products", tags=["products"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such product"}}


@router.get("", response_model=ProductPage)
def list_products(
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
    product_status: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    source: Annotated[str | None, Query(max_length=50)] = None,
    brand: Annotated[str | None, Query(max_length=200)] = None,
    job_id: Annotated[uuid.UUID | None, Query(description="Products of one import job")] = None,
    search: Annotated[str | None, Query(max_length=200, description="Text in the title")] = None,
) -> ProductPage:
    filters = ProductFilters(status=product_status, source=source, brand=brand, job_id=job_id, search=search)
    items, total = products.list_products(session, filters, page=page, page_size=page_size)
    return ProductPage(
        items=[ProductRead.model_validate(item) for item in items],
        total=total,
        page=page,
        page_size=page_size,
        total_pages=math.ceil(total / page_size),
    )


@router.get("/stats/summary", response_model=ProductStats)
def product_stats(session: SessionDep) -> ProductStats:
    total, by_status, by_source = products.count_by(session)
    return ProductStats(total_products=total, by_status=by_status, by_source=by_source)


@router.get("/{product_id}", response_model=ProductRead, responses=NOT_FOUND)
def get_product(product_id: int, session: SessionDep) -> ProductRead:
    product = products.get_product(session, product_id)
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
    return ProductRead.model_validate(product)


@router.delete("/{product_id}", response_model=ProductDeleted, responses=NOT_FOUND)
def delete_product(product_id: int, session: SessionDep) -> ProductDeleted:
    if not products.delete_product(session, product_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
    session.commit()
    return ProductDeleted()

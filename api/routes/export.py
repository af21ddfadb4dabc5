"""The seed's export routes: publish stored products (one, or many as a bulk job), which marketplaces
can be published to, and every marketplace's feed.

Publishing itself runs in the workers (the publish stage of a job): these routes start a job over
stored products and answer at once with it, to poll. The API never talks to a marketplace, except to
check credentials when asked (`?check=true`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from enum import Enum
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import StreamingResponse

from api.auth import AUTH_RESPONSES, ApiKeyAccess
from api.deps import SessionDep, SettingsDep
from api.marketplace_param import TargetMarketplace, target_marketplace
from api.routes.products import ProductId
from models import Product, stages
from schemas.export import BulkJobRead, BulkPublishIn, MarketplaceList
from services.marketplaces import MARKETPLACES
from services.pipeline import jobs
from services.pipeline.on_demand_publish import bulk_job_view, start_publish_job
from services.platform.settings import get_settings
from services.publishing import feed
from services.publishing.clients.registry import Availability, availability_from
from services.publishing.status import marketplace_statuses
from workers.messages import send_stage

router = APIRouter(
    prefix="/api/export", tags=["export"], dependencies=[ApiKeyAccess], responses=AUTH_RESPONSES
)
Marketplace = Enum("Marketplace", {m: m for m in MARKETPLACES}, type=str)  # type: ignore[misc]
_MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@lru_cache(maxsize=1)
def availability() -> Availability:
    """The clients the settings configure, built once per process (for credential checks)."""
    return availability_from(get_settings())


@router.post("/publish/{product_id}", status_code=202, response_model=BulkJobRead, responses={422: {}})
def publish_product(
    product_id: ProductId,
    session: SessionDep,
    marketplace: TargetMarketplace = "amazon_de",
    preview: Annotated[bool, Query(description="Validate with the marketplace without listing")] = False,
) -> BulkJobRead:
    """Publish one product's listing on the marketplace (only when it is publishable): a bulk job of
    one, answered at once; poll `GET /api/export/bulk-jobs/{id}` for the result."""
    if session.get(Product, product_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Product not found")
    return _start(session, [product_id], marketplace, preview=preview)


@router.post("/bulk-publish", status_code=202, response_model=BulkJobRead, responses={422: {}})
def bulk_publish(body: BulkPublishIn, session: SessionDep) -> BulkJobRead:
    """Publish (or, with `job_type` "preview", validate) many products' listings on one marketplace,
    in the workers, at its rate; ids that name no product fail alone. Poll the bulk job."""
    return _start(session, body.product_ids, body.target_marketplace, preview=body.job_type == "preview")


@router.get(
    "/bulk-jobs/{bulk_id}", response_model=BulkJobRead, responses={404: {"description": "No such job"}}
)
def get_bulk_job(bulk_id: Annotated[uuid.UUID, Path()], session: SessionDep) -> BulkJobRead:
    """The bulk job's counts (once it ended), errors, and each listing's result so far."""
    view = bulk_job_view(session, bulk_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Bulk job not found")
    return view


def _start(session: SessionDep, product_ids: list[int], marketplace: str, *, preview: bool) -> BulkJobRead:
    job = start_publish_job(session, product_ids, target_marketplace(marketplace), preview=preview)
    for number in job.chunks:
        send_stage(session, stages.PUBLISH, str(job.job_id), number)
    jobs.finish_if_done(session, job.job_id)  # every id unknown: done already
    session.commit()
    view = bulk_job_view(session, job.job_id)
    assert view is not None
    return view


@router.get("/marketplaces", response_model=MarketplaceList)
def list_marketplaces(
    session: SessionDep,
    check: Annotated[
        bool, Query(description="Try each configured account's credentials (a token request each)")
    ] = False,
) -> MarketplaceList:
    return MarketplaceList(marketplaces=marketplace_statuses(session, availability(), check=check))


@router.get(
    "/feed",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}, _MEDIA_TYPES["xlsx"]: {}},
                     "description": "Every listing that could be published on the marketplace"}},
)  # fmt: skip
def marketplace_feed(
    session: SessionDep,
    settings: SettingsDep,
    marketplace: Annotated[
        Marketplace, Query(description="The marketplace whose bulk upload the feed is for")
    ],
    format: Annotated[
        Literal["csv", "json", "xlsx"], Query(description="csv or xlsx (open in a spreadsheet), or json")
    ] = "csv",
) -> StreamingResponse:
    """Publishable listings with an applied price and a known quantity, with the columns a bulk upload
    takes (sku, ean, title, description, price gross, currency, quantity, brand, images...), streamed."""
    listings = feed.feed_listings(
        session, marketplace.value, default_quantity=settings.publish_default_quantity
    )
    chunks: Iterator[bytes]
    if format == "csv":
        chunks = feed.csv_chunks(listings)
    elif format == "xlsx":
        chunks = feed.xlsx_chunks(listings, marketplace.value)
    else:
        chunks = feed.json_chunks(listings, marketplace.value)
    filename = f"{marketplace.value}-feed.{format}"
    return StreamingResponse(
        chunks,
        media_type=_MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

"""The seed's export routes: which marketplaces can be published to, and every marketplace's feed.

Publishing itself runs in the workers (the publish stage of a job with `options.publish`); the API
never talks to a marketplace, except to check credentials when asked (`?check=true`).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.auth import AUTH_RESPONSES, ApiKeyAccess
from api.deps import SessionDep, SettingsDep
from schemas.export import MarketplaceList
from services.marketplaces import MARKETPLACES
from services.platform.settings import get_settings
from services.publishing import feed
from services.publishing.clients.registry import Availability, availability_from
from services.publishing.status import marketplace_statuses

router = APIRouter(
    prefix="/api/export", tags=["export"], dependencies=[ApiKeyAccess], responses=AUTH_RESPONSES
)
Marketplace = Enum("Marketplace", {m: m for m in MARKETPLACES}, type=str)  # type: ignore[misc]
_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@lru_cache(maxsize=1)
def availability() -> Availability:
    """The clients the settings configure, built once per process (for credential checks)."""
    return availability_from(get_settings())


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
    responses={200: {"content": {"text/csv": {}, "application/json": {}},
                     "description": "Every listing that could be published on the marketplace"}},
)  # fmt: skip
def marketplace_feed(
    session: SessionDep,
    settings: SettingsDep,
    marketplace: Annotated[
        Marketplace, Query(description="The marketplace whose bulk upload the feed is for")
    ],
    format: Annotated[
        Literal["csv", "json"], Query(description="csv (opens in a spreadsheet) or json")
    ] = "csv",
) -> StreamingResponse:
    """Publishable listings with an applied price and a known quantity, with the columns a bulk upload
    takes (sku, ean, title, description, price gross, currency, quantity, brand, images...), streamed."""
    listings = feed.feed_listings(
        session, marketplace.value, default_quantity=settings.publish_default_quantity
    )
    chunks: Iterator[bytes] = (
        feed.csv_chunks(listings) if format == "csv" else feed.json_chunks(listings, marketplace.value)
    )
    filename = f"{marketplace.value}-feed.{format}"
    return StreamingResponse(
        chunks,
        media_type=_MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

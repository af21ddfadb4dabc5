"""Products as the API shows them: with their listings, and the explanation of every stage's result."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from models import Listing, PriceRecord, Product
from schemas.products import (
    ListingRead,
    MarketplaceExplanation,
    PriceExplanation,
    ProductDetail,
    ProductExplanation,
    ProductRead,
)
from services.products.queries import get_product, latest_prices, listings_of


def _marketplace_data(product: Product, listings: list[Listing]) -> dict[str, Any]:
    """The seed's `marketplace_data`: what each marketplace gets, by marketplace id."""
    data = dict(product.marketplace_data or {})
    for listing in listings:
        data[listing.marketplace] = {
            **(data.get(listing.marketplace) or {}),
            **ListingRead.model_validate(listing).model_dump(
                mode="json", exclude={"marketplace", "updated_at"}
            ),
        }
    return data


def product_read(product: Product, listings: list[Listing]) -> ProductRead:
    return ProductRead.model_validate(
        {**_columns(product), "listings": listings, "marketplace_data": _marketplace_data(product, listings)}
    )


def product_page(session: Session, products: list[Product]) -> list[ProductRead]:
    listings = listings_of(session, [product.id for product in products])
    return [product_read(product, listings.get(product.id, [])) for product in products]


def product_detail(session: Session, product_id: int) -> ProductDetail | None:
    product = get_product(session, product_id)
    if product is None:
        return None
    listings = listings_of(session, [product_id]).get(product_id, [])
    return ProductDetail.model_validate(
        {**_columns(product), "listings": listings, "marketplace_data": _marketplace_data(product, listings)}
    )


def explain_product(session: Session, product_id: int) -> ProductExplanation | None:
    product = get_product(session, product_id)
    if product is None:
        return None
    listings = listings_of(session, [product_id]).get(product_id, [])
    prices = latest_prices(session, product_id)
    normalized = product.normalized or {}
    changes: list[str] = normalized.get("changes") or []
    marketplaces = {}
    for listing in listings:
        prefix = f"{listing.marketplace} title: "
        marketplaces[listing.marketplace] = MarketplaceExplanation(
            listing=ListingRead.model_validate(listing),
            title_changes=[change.removeprefix(prefix) for change in changes if change.startswith(prefix)],
            price=_price(prices.get(listing.marketplace)),
            quality=listing.quality,
            rules=listing.rules,
        )
    return ProductExplanation(
        product_id=product.id,
        source_id=product.source_id,
        original_title=product.title,
        status=product.status,
        evaluation=product.evaluation,
        normalize=_normalize_summary(normalized) if product.normalized else None,
        marketplaces=marketplaces,
    )


def _columns(product: Product) -> dict[str, Any]:
    return {column: getattr(product, column) for column in Product.__table__.columns.keys()}  # noqa: SIM118


def _normalize_summary(normalized: dict[str, Any]) -> dict[str, Any]:
    """The normalized product without the long texts (the product itself has them)."""
    description = normalized.get("description") or {}
    images = normalized.get("images") or {}
    return {
        "title": normalized.get("title"),
        "brand": {"value": normalized.get("brand"), "confidence": normalized.get("brand_confidence")},
        "model": {"value": normalized.get("model"), "confidence": normalized.get("model_confidence")},
        "category_path": {
            "value": normalized.get("category_path"),
            "confidence": normalized.get("category_confidence"),
        },
        "specifications": normalized.get("specifications") or [],
        "ean": normalized.get("gtin"),
        "description": {"characters": len(description.get("text") or ""), "html": description.get("html")},
        "images": {"count": len(images.get("urls") or []), "warnings": images.get("warnings") or []},
        # The marketplaces' title changes are shown with each marketplace.
        "changes": [c for c in normalized.get("changes") or [] if not c.split(": ", 1)[0].endswith(" title")],
    }


def _price(record: PriceRecord | None) -> PriceExplanation | None:
    if record is None:
        return None
    decision = record.decision
    fee = decision.get("marketplace_fee_percent")
    steps: list[str] = decision.get("steps") or []
    return PriceExplanation(
        summary="; ".join(steps),
        price=record.price,
        currency=record.currency,
        status=record.status,
        applied=record.applied,
        strategy_used=decision.get("strategy_used"),
        floor=decision.get("floor"),
        steps=steps,
        reasons=decision.get("reasons") or [],
        competitors=record.competitors,
        profile=decision.get("profile") or "",
        marketplace_fee_percent=None if fee is None else Decimal(fee),
        rates_as_of=decision.get("rates_as_of"),
        job_id=record.job_id,
        decided_at=record.created_at,
    )

"""What goes out for one listing, or why nothing does.

Only a publishable listing is sent (services.scoring.readiness: its copy in the marketplace's
language, a price that was applied and keeps the floor, no block rule, nothing the marketplace
requires missing). Besides that, an offer needs a price and a quantity: a product whose stock is
unknown is not offered unless the configuration names a quantity for that case
(PUBLISH_DEFAULT_QUANTITY), since an offer must never claim stock nobody counted.

The copy sent is the listing's final copy (the model's when it passed, else the deterministic one),
the facts (brand, EAN, images, category) the normalized product's. The seller's attributes and
specifications are not sent: their names and values are in the source's language ("Kolor: czarny"),
and a German listing must not carry Polish text; the bullets come from the checked description.
`copy_key` fingerprints what a
marketplace shows besides price and quantity: a live listing whose copy key is unchanged needs only
a price and quantity update when those moved, and nothing when they did not.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.marketplaces import rules_for
from services.publishing.clients.base import OutgoingListing
from services.publishing.sku import sku_for
from services.scoring import ListingFacts

MAX_BULLETS = 5
_BULLET_LENGTH = 250
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class NotSent:
    """Why a listing is not sent: `code` is "blockers" (not publishable), "price" or "quantity"."""

    code: str
    reasons: tuple[str, ...]


def outgoing_listing(
    product: Any,
    listing: Any,
    facts: ListingFacts,
    *,
    default_quantity: int | None,
) -> OutgoingListing | NotSent:
    """The listing to send, or why not. `product` has id, source_platform, source_id and stock;
    `listing` has publishable,
    blockers, price, currency and marketplace_ids; `facts` carry the listing's final copy."""
    if not listing.publishable:
        blockers = listing.blockers or []
        reasons = tuple(str(b.get("message") or b.get("code")) for b in blockers)
        return NotSent("blockers", reasons or ("not scored yet",))
    if listing.price is None or not listing.currency:
        return NotSent("price", ("no price applied to this listing",))
    quantity = product.stock if product.stock is not None else default_quantity
    if quantity is None:
        return NotSent(
            "quantity", ("the product's stock is unknown: send its stock, or set PUBLISH_DEFAULT_QUANTITY",)
        )
    return _outgoing(product, listing, facts, Decimal(listing.price), max(0, int(quantity)))


def paused_listing(product: Any, listing: Any, facts: ListingFacts) -> OutgoingListing | None:
    """A live listing at quantity 0 and its last published price: what pauses an offer that may not
    go out any more (None when nothing was published). The copy is not sent again."""
    if listing.published_price is None:
        return None
    return _outgoing(product, listing, facts, Decimal(listing.published_price), 0)


def _outgoing(
    product: Any, listing: Any, facts: ListingFacts, price: Decimal, quantity: int
) -> OutgoingListing:
    marketplace = facts.marketplace
    return OutgoingListing(
        product_id=product.id,
        marketplace=marketplace,
        sku=sku_for(product.source_platform, product.source_id, marketplace),
        title=facts.title,
        description_html=facts.description_html,
        description_text=facts.description_text,
        bullet_points=bullet_points(facts.description_text),
        brand=facts.brand,
        ean=facts.gtin if facts.gtin_valid else None,
        images=facts.images,
        price=price,
        currency=listing.currency,
        quantity=quantity,
        language=rules_for(marketplace).language,
        category=facts.category_path or (),
        ids=dict(listing.marketplace_ids or {}),
    )


def bullet_points(description_text: str) -> tuple[str, ...]:
    """Up to five bullets: the description's first sentences, each cut at a word to 250 characters."""
    sentences = [s.strip() for s in _SENTENCE_END.split(description_text) if s.strip()]
    return tuple(_cut(sentence) for sentence in sentences[:MAX_BULLETS])


def copy_key(listing: OutgoingListing) -> str:
    """SHA-256 of what the marketplace shows besides price and quantity."""
    parts: list[str] = [
        listing.sku, listing.title, listing.description_html, listing.brand or "", listing.ean or "",
        "\x1e".join(listing.images), "\x1e".join(listing.bullet_points), "\x1e".join(listing.category),
        "\x1e".join(f"{name}={value}" for name, value in sorted(listing.attributes.items())),
        listing.condition, str(listing.handling_time_days),
    ]  # fmt: skip
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def sent_values(listing: OutgoingListing) -> dict[str, Any]:
    """The values a sync log keeps of what was sent (price as text, as it is stored)."""
    return {"price": f"{listing.price:.2f}", "currency": listing.currency, "quantity": listing.quantity,
            "copy_key": copy_key(listing)}  # fmt: skip


def live_values(listing: Any) -> dict[str, Any] | None:
    """What was last sent for a listing row (None when nothing was)."""
    if listing.published_price is None:
        return None
    return {"price": f"{listing.published_price:.2f}", "currency": listing.currency,
            "quantity": listing.published_quantity, "copy_key": listing.published_copy_key}  # fmt: skip


def _cut(text: str) -> str:
    if len(text) <= _BULLET_LENGTH:
        return text
    return text[:_BULLET_LENGTH].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def ids_text(ids: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {value}" for name, value in ids.items())

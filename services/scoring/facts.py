"""What the scorer looks at for one product on one marketplace, and reading it from a normalized row.

``facts_from_normalized`` reads ``NormalizedProduct.to_json()`` as it comes back from a jsonb column
(lists, not tuples). A marketplace the product was not normalized for gets the clean title fitted to
its rules, as the normalize stage would have done. Keys an older row lacks count as absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.marketplaces import fit_title, rules_for
from services.normalize.descriptions import clean_description

OPTIMIZED = "optimized"  # a listing's ai_status when its copy is the model's, and passed the checks


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """What the scorer looks at, for one product on one marketplace."""

    marketplace: str  # a MARKETPLACES id, e.g. "ebay_de"
    title: str  # the title fitted for this marketplace
    clean_title: str  # the cleaned title before fitting (its length shows what was cut)
    description_text: str  # plain text of the cleaned description ("" when none)
    description_html: str
    images: tuple[str, ...]  # cleaned image URLs
    image_warnings: tuple[str, ...]
    brand: str | None
    model: str | None
    gtin: str | None
    gtin_valid: bool | None  # None: no EAN given
    category_path: tuple[str, ...] | None
    specifications: tuple[str, ...]  # names of the extracted specifications
    attribute_count: int  # attributes the seller sent
    ai_grounding: float | None = None  # -1..1 grounding of AI copy; None = no AI copy
    # The copy's language as detected (None: undetermined) and the one the marketplace lists in
    # (None: not checked): a copy in another language loses half its title and description points.
    copy_language: str | None = None
    expected_language: str | None = None

    @property
    def wrong_language(self) -> bool:
        return None not in (self.copy_language, self.expected_language) and (
            self.copy_language != self.expected_language
        )


def facts_from_normalized(
    normalized: Mapping[str, Any], marketplace: str, *, attribute_count: int
) -> ListingFacts:
    """The facts of a normalized product (its ``to_json()``) for one marketplace."""
    rules_for(marketplace)  # an unknown id fails here, not halfway through scoring
    clean_title: str = normalized.get("title") or ""
    titles: Mapping[str, str] = normalized.get("marketplace_titles") or {}
    title = titles.get(marketplace)
    if title is None:
        title = fit_title(clean_title, marketplace).text
    description: Mapping[str, Any] = normalized.get("description") or {}
    images: Mapping[str, Any] = normalized.get("images") or {}
    gtin: Mapping[str, Any] = normalized.get("gtin") or {}
    category = normalized.get("category_path")
    return ListingFacts(
        marketplace=marketplace,
        title=title,
        clean_title=clean_title,
        description_text=description.get("text") or "",
        description_html=description.get("html") or "",
        images=tuple(images.get("urls") or ()),
        image_warnings=tuple(images.get("warnings") or ()),
        brand=normalized.get("brand"),
        model=normalized.get("model"),
        gtin=gtin.get("code"),
        gtin_valid=gtin.get("valid"),
        category_path=None if category is None else tuple(category),
        specifications=tuple(spec["name"] for spec in normalized.get("specifications") or ()),
        attribute_count=attribute_count,
    )


def with_listing_copy(facts: ListingFacts, listing: Any) -> ListingFacts:
    """The facts of the listing's own copy when the model wrote it: its title, its description and
    how well they are grounded in the source (which the quality score weighs)."""
    if listing is None or listing.ai_status != OPTIMIZED or not listing.title:
        return facts
    description = clean_description(listing.description_html or "")
    return replace(
        facts,
        title=listing.title,
        description_html=description.html,
        description_text=description.text,
        ai_grounding=listing.ai_grounding,
    )

"""Normalize one validated product: the entry point of the normalize stage. Pure: no I/O.

Order: the brand is found first (field, attributes, title), so the title keeps its spelling; the
model and the title's quantities are then read from the cleaned title. Every requested marketplace
gets the cleaned title fitted to its rules. `changes` lists everything that was changed or inferred,
each prefixed by what it concerns ("title: removed emoji '🔥'"), for the explain endpoint. The same
product always gives the same result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from services.imports.product import ProductIn
from services.marketplaces import DEFAULT_MARKETPLACES, fit_title, rules_for
from services.normalize.descriptions import CleanDescription, CleanImages, clean_description, clean_images
from services.normalize.extract import (
    KNOWN_BRANDS,
    Spec,
    extract_brand,
    extract_category,
    extract_model,
    extract_specifications,
)
from services.normalize.gtin import GtinCheck, check_gtin
from services.normalize.titles import clean_title


@dataclass(frozen=True, slots=True)
class NormalizedProduct:
    title: str
    brand: str | None
    brand_confidence: float
    model: str | None
    model_confidence: float
    category_path: tuple[str, ...] | None
    category_confidence: float
    specifications: tuple[Spec, ...]
    gtin: GtinCheck
    description: CleanDescription
    images: CleanImages
    marketplace_titles: dict[str, str]
    changes: list[str]

    def to_json(self) -> dict[str, Any]:
        """A dict json.dumps and orjson accept (Decimal as text, tuples as lists), for a jsonb column."""
        result: dict[str, Any] = orjson.loads(self.to_json_text())
        return result

    def to_json_text(self) -> str:
        """The same as JSON text: orjson walks the dataclasses in C, ten times faster than Python."""
        return orjson.dumps(self, default=_decimal_text).decode()


def normalize_product(
    product: ProductIn,
    marketplaces: Sequence[str] = DEFAULT_MARKETPLACES,
    *,
    brands: Mapping[str, str] = KNOWN_BRANDS,
) -> NormalizedProduct:
    """The product's cleaned and extracted fields, and a compliant title per requested marketplace.
    `brands`: the brands a title may name (extract.known_brands with the seller's own)."""
    for marketplace in marketplaces:
        rules_for(marketplace)  # unknown ids fail before any work
    changes: list[str] = []
    attributes = product.attributes
    brand = extract_brand(product.brand, attributes, product.title, brands)
    if brand.value is not None and brand.confidence < 1:
        changes.append(f"brand: '{brand.value}' from the {brand.source} (confidence {brand.confidence})")
    title = clean_title(product.title, brand=brand.value)
    changes.extend(f"title: {change}" for change in title.changes)
    model = extract_model(attributes, title.text)
    if model.value is not None:
        changes.append(f"model: '{model.value}' from the {model.source} (confidence {model.confidence})")
    category = extract_category(product.category)
    specifications = tuple(extract_specifications(attributes, title.text))
    changes.extend(
        f"specifications: {spec.name} '{spec.value}' read from the title"
        for spec in specifications
        if spec.confidence < 1
    )
    gtin = check_gtin(product.ean)
    if gtin.code is not None and product.ean is not None and gtin.code != product.ean:
        changes.append(f"ean: '{product.ean}' → '{gtin.code}'")
    if gtin.valid is False:
        changes.append(f"ean: flagged as invalid: {gtin.reason}")
    description = clean_description(product.description, brand=brand.value)
    changes.extend(f"description: {change}" for change in description.changes)
    images = clean_images(product.images)
    changes.extend(f"images: {warning}" for warning in images.warnings)
    marketplace_titles = {}
    for marketplace in marketplaces:
        fitted = fit_title(title.text, marketplace)
        marketplace_titles[marketplace] = fitted.text
        changes.extend(f"{marketplace} title: {change}" for change in fitted.changes)
    return NormalizedProduct(
        title=title.text,
        brand=brand.value,
        brand_confidence=brand.confidence,
        model=model.value,
        model_confidence=model.confidence,
        category_path=category.value,
        category_confidence=category.confidence,
        specifications=specifications,
        gtin=gtin,
        description=description,
        images=images,
        marketplace_titles=marketplace_titles,
        changes=changes,
    )


def _decimal_text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")

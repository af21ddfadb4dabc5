"""Normalize scraped products: pure functions, no I/O. Each module's docstring states its rules."""

from services.normalize.descriptions import CleanDescription, CleanImages, clean_description, clean_images
from services.normalize.extract import (
    Guess,
    Spec,
    extract_brand,
    extract_category,
    extract_model,
    extract_specifications,
)
from services.normalize.gtin import GtinCheck, check_gtin, gtin_check_digit
from services.normalize.marketplaces import (
    DEFAULT_MARKETPLACES,
    MARKETPLACES,
    FittedTitle,
    MarketplaceRules,
    check_title,
    fit_title,
    rules_for,
)
from services.normalize.product import NormalizedProduct, normalize_product
from services.normalize.titles import CleanTitle, clean_title
from services.normalize.units import Quantity, find_quantities, parse_quantity

__all__ = [
    "DEFAULT_MARKETPLACES",
    "MARKETPLACES",
    "CleanDescription",
    "CleanImages",
    "CleanTitle",
    "FittedTitle",
    "GtinCheck",
    "Guess",
    "MarketplaceRules",
    "NormalizedProduct",
    "Quantity",
    "Spec",
    "check_gtin",
    "check_title",
    "clean_description",
    "clean_images",
    "clean_title",
    "extract_brand",
    "extract_category",
    "extract_model",
    "extract_specifications",
    "find_quantities",
    "fit_title",
    "gtin_check_digit",
    "normalize_product",
    "parse_quantity",
    "rules_for",
]

"""Normalize scraped products: pure functions, no I/O. Imports the product model (services.imports)
and marketplaces. Each module's docstring states its rules."""

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
from services.normalize.product import NormalizedProduct, normalize_product
from services.normalize.titles import CleanTitle, clean_title
from services.normalize.units import Quantity, find_quantities, parse_quantity

__all__ = [
    "CleanDescription",
    "CleanImages",
    "CleanTitle",
    "GtinCheck",
    "Guess",
    "NormalizedProduct",
    "Quantity",
    "Spec",
    "check_gtin",
    "clean_description",
    "clean_images",
    "clean_title",
    "extract_brand",
    "extract_category",
    "extract_model",
    "extract_specifications",
    "find_quantities",
    "gtin_check_digit",
    "normalize_product",
    "parse_quantity",
]

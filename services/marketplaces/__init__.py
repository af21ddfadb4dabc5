"""The marketplaces we list on (marketplaces): each one's id, name, currency, language and usual fee,
and its title rules (limit, refused characters, repeats), with fitting a title to them. Facts of the
outside world that every domain reads; imports nothing of the project."""

from services.marketplaces.listing_rules import (
    ALIASES,
    BUILT_IN_LANGUAGES,
    DEFAULT_MARKETPLACES,
    LANGUAGE_NAMES,
    MARKETPLACES,
    FittedTitle,
    Languages,
    MarketplaceRules,
    check_languages,
    check_title,
    fit_title,
    language_name,
    marketplace_languages,
    resolve_marketplace,
    rules_for,
)

__all__ = [
    "ALIASES",
    "BUILT_IN_LANGUAGES",
    "DEFAULT_MARKETPLACES",
    "LANGUAGE_NAMES",
    "MARKETPLACES",
    "FittedTitle",
    "Languages",
    "MarketplaceRules",
    "check_languages",
    "check_title",
    "fit_title",
    "language_name",
    "marketplace_languages",
    "resolve_marketplace",
    "rules_for",
]

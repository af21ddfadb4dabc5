"""Pricing: choose a product's price from a seller's profile, competitors and exchange rates.

Pure functions over Decimals: no I/O, no database, the same input always gives the same decision;
the profiles' store (store.py) is the one module that reads and writes rows. Imports marketplaces,
schemas and models. Each module's docstring states its rules: parse (scraped prices such as
"1 299,99 zł"), profiles (what a profile may say), competitors (which offers count and which are
outliers), engine (the order of the steps, the statuses), rounding (charm endings), money (rates
against EUR, amounts written as "1 249,00 PLN"), vat (gross and net, the rate per country and
category) and margin (the one margin, and the floor that keeps it).
"""

from services.pricing.competitors import CompetitorOffer, EvaluatedOffer, clean_competitors
from services.pricing.engine import (
    InvalidPriceInput,
    PriceDecision,
    PriceInput,
    Status,
    price_per_fee,
    price_product,
)
from services.pricing.margin import floor_price, margin, margin_percent
from services.pricing.money import (
    BASE_CURRENCY,
    ExchangeRates,
    InvalidRates,
    UnknownCurrency,
    format_money,
    format_percent,
)
from services.pricing.profiles import STRATEGIES, InvalidProfile, PricingProfile, Strategy, in_currency
from services.pricing.rounding import CharmResult, apply_charm
from services.pricing.vat import VatRate, country_of, product_vat_rates

__all__ = [
    "BASE_CURRENCY",
    "STRATEGIES",
    "CharmResult",
    "CompetitorOffer",
    "EvaluatedOffer",
    "ExchangeRates",
    "InvalidPriceInput",
    "InvalidProfile",
    "InvalidRates",
    "PriceDecision",
    "PriceInput",
    "PricingProfile",
    "Status",
    "Strategy",
    "UnknownCurrency",
    "VatRate",
    "apply_charm",
    "clean_competitors",
    "country_of",
    "floor_price",
    "format_money",
    "format_percent",
    "in_currency",
    "margin",
    "margin_percent",
    "price_per_fee",
    "price_product",
    "product_vat_rates",
]

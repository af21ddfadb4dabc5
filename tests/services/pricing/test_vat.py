"""VAT: the rate of a product in each country, the profile's reduced rates by category."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.marketplaces import MARKETPLACES
from services.pricing.vat import (
    VatRate,
    country_of,
    gross_of,
    marketplace_countries,
    net_of,
    product_vat_rates,
)

D = Decimal
STANDARD = {"DE": D(19), "PL": D(23)}
REDUCED = {"DE": {"Bücher": D(7), "Medien > Bücher > Hörbücher": D("7.5")}, "PL": {"Książki": D(5)}}


def test_every_marketplace_has_a_country():
    assert {m: country_of(m) for m in MARKETPLACES} == {
        "amazon_de": "DE", "amazon_pl": "PL", "ebay_de": "DE", "ebay_pl": "PL", "kaufland_de": "DE",
        "allegro_pl": "PL",
    }  # fmt: skip
    assert marketplace_countries() == {"DE", "PL"}


def test_standard_rates_without_a_matching_category():
    rates = product_vat_rates(STANDARD, REDUCED, "Elektronika > RTV > Słuchawki")
    assert rates == {"DE": VatRate("DE", D(19)), "PL": VatRate("PL", D(23))}
    assert product_vat_rates(STANDARD, REDUCED, None) == rates


@pytest.mark.parametrize(
    ("category", "de", "pl"),
    [
        ("Bücher", D(7), D(23)),
        ("Medien > BÜCHER  > Romane", D(7), D(23)),  # a segment anywhere, any case and spacing
        ("Medien > Bücher > Hörbücher > Krimi", D("7.5"), D(23)),  # the longest key wins
        ("Kultura > Książki", D(19), D(5)),
        ("Bücherregale", D(19), D(23)),  # whole segments only
    ],
)
def test_the_profiles_reduced_rate_of_the_category(category, de, pl):
    rates = product_vat_rates(STANDARD, REDUCED, category)
    assert (rates["DE"].percent, rates["PL"].percent) == (de, pl)


def test_a_reduced_rate_names_its_category():
    rates = product_vat_rates(STANDARD, REDUCED, "Medien > Bücher")
    assert rates["DE"] == VatRate("DE", D(7), "Bücher")
    assert rates["DE"].text() == "VAT 7% (DE, reduced for Bücher)"
    assert rates["PL"].text() == "VAT 23% (PL)"


def test_net_and_gross():
    assert net_of(D("119"), D(19)) == D(100)
    assert gross_of(D(100), D(23)) == D(123)


@pytest.mark.parametrize("percent", [D(-1), D(100), D("NaN")])
def test_an_impossible_rate_is_refused(percent):
    with pytest.raises(ValueError, match="the VAT rate of DE"):
        VatRate("DE", percent)

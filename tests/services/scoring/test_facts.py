"""facts_from_normalized: a normalized product read back from its jsonb column, for one marketplace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.imports.product import ProductIn, validate_product
from services.marketplaces import DEFAULT_MARKETPLACES, fit_title
from services.normalize import normalize_product
from services.scoring import ListingFacts, facts_from_normalized, score_listing

RAW: dict[str, Any] = {
    "source_id": "1",
    "title": "SŁUCHAWKI bezprzewodowe SONY WH-1000XM4 czarne ANC 30h redukcja szumów Bluetooth 5.0 etui "
    "kabel USB-C !!! SUPER OKAZJA",
    "description": "<p>Słuchawki Sony WH-1000XM4 z aktywną redukcją szumów.</p>"
    "<ul><li>30 godzin pracy</li><li>Bluetooth 5.0</li></ul>",
    "images": [
        "http://a.allegroimg.com/1.jpg",
        "https://a.allegroimg.com/1.jpg",
        "https://a.allegroimg.com/2.jpg",
    ],
    "ean": "4548736112100",
    "brand": "Sony",
    "attributes": {"Kolor": "czarny", "Model": "WH-1000XM4", "Waga": "254 g"},
    "category": "Elektronika > RTV > Słuchawki",
}


def stored(raw: dict[str, Any], marketplaces: tuple[str, ...] = DEFAULT_MARKETPLACES) -> Any:
    """The normalized product as the jsonb column gives it back: JSON, lists instead of tuples."""
    product = validate_product(raw)
    assert isinstance(product, ProductIn)
    return json.loads(json.dumps(normalize_product(product, marketplaces).to_json()))


def test_reads_every_fact_of_a_normalized_product():
    facts = facts_from_normalized(stored(RAW), "ebay_de", attribute_count=3)

    fitted = "Słuchawki bezprzewodowe Sony WH-1000XM4 czarne ANC 30h redukcja szumów Bluetooth"
    assert facts == ListingFacts(
        marketplace="ebay_de",
        title=fitted,
        clean_title=f"{fitted} 5.0 etui kabel USB-C",
        description_text="Słuchawki Sony WH-1000XM4 z aktywną redukcją szumów.\n\n"
        "- 30 godzin pracy\n- Bluetooth 5.0",
        description_html="<p>Słuchawki Sony WH-1000XM4 z aktywną redukcją szumów.</p>"
        "<ul><li>30 godzin pracy</li><li>Bluetooth 5.0</li></ul>",
        images=("https://a.allegroimg.com/1.jpg", "https://a.allegroimg.com/2.jpg"),
        image_warnings=(
            "upgraded to https: http://a.allegroimg.com/1.jpg",
            "dropped a duplicate: https://a.allegroimg.com/1.jpg",
        ),
        brand="Sony",
        model="WH-1000XM4",
        gtin="4548736112100",
        gtin_valid=True,
        category_path=("Elektronika", "RTV", "Słuchawki"),
        specifications=("Kolor", "Model", "Waga"),
        attribute_count=3,
        ai_grounding=None,
    )


def test_the_round_trip_scores_what_the_normalizer_found():
    normalized = stored(RAW)

    ebay = score_listing(facts_from_normalized(normalized, "ebay_de", attribute_count=3))
    amazon = score_listing(facts_from_normalized(normalized, "amazon_de", attribute_count=3))

    shared = [
        "description 87 characters, 300+ recommended (+6.4 points)",
        "2 images, 5+ recommended (+6 points)",
        "1 duplicate image in the feed: give each image once (+2 points)",
        "1 image over http: give https links to the images (+2 points)",
        "3 specifications, 5+ recommended (colour, size, material…) (+2 points)",
    ]
    cut = "title 101 characters, eBay.de shows 80: shorten it so nothing is cut (+6 points)"
    assert ebay.fixes == [*shared[:2], cut, *shared[2:]]
    assert amazon.fixes == shared  # 101 characters are in Amazon's best range: nothing cut
    assert (ebay.score, amazon.score) == (76, 82)


def test_a_marketplace_the_product_was_not_normalized_for_gets_the_clean_title_fitted():
    normalized = stored(RAW, ("amazon_de",))

    facts = facts_from_normalized(normalized, "allegro_pl", attribute_count=3)

    assert facts.title == fit_title(normalized["title"], "allegro_pl").text
    assert len(facts.title) <= 75


def test_an_invalid_or_missing_ean_is_read_as_such():
    invalid = facts_from_normalized(stored(RAW | {"ean": "4548736112101"}), "kaufland_de", attribute_count=3)
    missing = facts_from_normalized(stored(RAW | {"ean": None}), "kaufland_de", attribute_count=3)

    assert (invalid.gtin, invalid.gtin_valid) == ("4548736112101", False)
    assert (missing.gtin, missing.gtin_valid) == (None, None)
    assert "EAN 4548736112101 fails its check digit (+6 points)" in score_listing(invalid).fixes
    assert "no EAN: Kaufland lists by EAN (+6 points)" in score_listing(missing).fixes


def test_a_product_with_nothing_but_a_title():
    normalized = stored({"source_id": "2", "title": "kabel do ładowarki"})

    facts = facts_from_normalized(normalized, "ebay_de", attribute_count=0)

    assert (facts.description_text, facts.description_html, facts.images) == ("", "", ())
    assert (facts.brand, facts.model, facts.gtin, facts.gtin_valid) == (None, None, None, None)
    assert (facts.category_path, facts.specifications) == (None, ())
    assert score_listing(facts).grade == "E"


def test_an_unknown_marketplace_fails_at_once():
    with pytest.raises(KeyError, match="unknown marketplace 'otto_de'"):
        facts_from_normalized(stored(RAW), "otto_de", attribute_count=3)

import json
from decimal import Decimal

import orjson
import pytest

from services.imports.product import ProductIn
from services.marketplaces import DEFAULT_MARKETPLACES, MARKETPLACES, check_title
from services.normalize import GtinCheck, Quantity, Spec, normalize_product
from tests.support.factories import product as product_data


def make(**fields):
    return ProductIn.model_validate({"source_id": "13001", "title": "Produkt", **fields})


HEADPHONES = make(
    title="🔥 SŁUCHAWKI bezprzewodowe SONY WH-1000XM4 czarne ANC 30h !!! SUPER OKAZJA WYSYŁKA 24H FV23% "
    "redukcja szumów, Bluetooth 5.0, etui, kabel USB-C, mikrofon, składane, nauszne, 250 g",
    brand="Sony",
    category="Elektronika > RTV > Słuchawki",
    ean="4548736112101",
    description="<p>Słuchawki z ANC. Kontakt: tel. 600 100 200.</p><script>alert(1)</script>",
    images=["http://a.allegroimg.com/1.jpg", "https://a.allegroimg.com/1.jpg"],
    attributes={"Kolor": "czarny", "Model": "WH-1000XM4", "Waga": "250 g"},
)


def test_normalizes_a_product():
    result = normalize_product(HEADPHONES)

    assert result.title == (
        "Słuchawki bezprzewodowe Sony WH-1000XM4 czarne ANC 30h redukcja szumów, Bluetooth 5.0, etui, "
        "kabel USB-C, mikrofon, składane, nauszne, 250 g"
    )
    assert (result.brand, result.brand_confidence) == ("Sony", 1.0)
    assert (result.model, result.model_confidence) == ("WH-1000XM4", 0.9)
    assert (result.category_path, result.category_confidence) == (("Elektronika", "RTV", "Słuchawki"), 1.0)
    assert result.specifications == (
        Spec("Kolor", "czarny", None),
        Spec("Model", "WH-1000XM4", None),
        Spec("Waga", "250 g", Quantity(Decimal(250), "g")),
    )
    assert result.gtin == GtinCheck("4548736112101", False, "check digit should be 0")
    assert result.description.html == "<p>Słuchawki z ANC.</p>"
    assert result.images.urls == ["https://a.allegroimg.com/1.jpg"]
    assert list(result.marketplace_titles) == list(DEFAULT_MARKETPLACES)
    assert result.marketplace_titles["amazon_de"] == result.title
    assert (
        result.marketplace_titles["ebay_de"]
        == "Słuchawki bezprzewodowe Sony WH-1000XM4 czarne ANC 30h redukcja szumów"
    )


def test_lists_every_change_by_what_it_concerns():
    changes = normalize_product(HEADPHONES).changes

    assert changes[:7] == [
        "title: removed emoji '🔥'",
        "title: removed promo phrase 'SUPER OKAZJA'",
        "title: removed promo phrase 'WYSYŁKA 24H'",
        "title: removed promo phrase 'FV23%'",
        "title: removed '!!!'",
        "title: 'SONY' → 'Sony'",
        "title: 'SŁUCHAWKI' → 'Słuchawki'",
    ]
    assert "model: 'WH-1000XM4' from the attribute 'Model' (confidence 0.9)" in changes
    assert "ean: flagged as invalid: check digit should be 0" in changes
    assert "description: removed phone number: 'Kontakt: tel. 600 100 200.'" in changes
    assert "images: upgraded to https: http://a.allegroimg.com/1.jpg" in changes
    assert "ebay_de title: shortened from 140 to 70 characters (at most 80 on eBay.de)" in changes


def test_every_marketplace_gets_a_compliant_title():
    result = normalize_product(HEADPHONES, sorted(MARKETPLACES))

    assert set(result.marketplace_titles) == set(MARKETPLACES)
    for marketplace, title in result.marketplace_titles.items():
        assert check_title(title, marketplace) == []


def test_unknown_marketplace_fails_before_any_work():
    with pytest.raises(KeyError, match="unknown marketplace 'otto_de'"):
        normalize_product(HEADPHONES, ("amazon_de", "otto_de"))


def test_infers_what_the_seller_left_out():
    result = normalize_product(make(title="Golarka PHILIPS S5587/10 128GB", attributes={"Marka": "Philips"}))

    assert (result.brand, result.brand_confidence) == ("Philips", 0.9)
    assert (result.model, result.model_confidence) == ("S5587/10", 0.6)
    assert (result.category_path, result.category_confidence) == (None, 0.0)
    assert result.specifications == (
        Spec("Marka", "Philips", None),
        Spec("storage", "128GB", Quantity(Decimal(128), "GB"), 0.6),
    )
    assert result.gtin == GtinCheck(None, None)
    assert result.changes[:2] == [
        "brand: 'Philips' from the attribute 'Marka' (confidence 0.9)",
        "title: 'PHILIPS' → 'Philips'",
    ]


def test_same_input_gives_the_same_output():
    data = product_data(42)

    first = normalize_product(ProductIn.model_validate(data))
    second = normalize_product(ProductIn.model_validate(data))

    assert first == second
    assert first.to_json() == second.to_json()


def test_to_json_is_serializable_with_decimals_as_text():
    result = normalize_product(ProductIn.model_validate(product_data(3)))

    stored = result.to_json()

    assert json.loads(json.dumps(stored)) == stored
    assert orjson.loads(orjson.dumps(stored)) == stored
    weight = next(spec for spec in stored["specifications"] if spec["name"] == "Waga")
    assert weight["quantity"]["unit"] == "g"
    assert isinstance(weight["quantity"]["value"], str)
    assert stored["gtin"].keys() == {"code", "valid", "reason"}
    assert stored["description"].keys() == {"html", "text", "changes"}
    assert stored["images"].keys() == {"urls", "warnings"}
    assert isinstance(stored["category_path"], list)
    assert stored["marketplace_titles"].keys() == set(DEFAULT_MARKETPLACES)

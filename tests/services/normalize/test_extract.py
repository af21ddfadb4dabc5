from decimal import Decimal

import pytest

from services.normalize.extract import (
    Guess,
    Spec,
    attribute_text,
    extract_brand,
    extract_category,
    extract_model,
    extract_specifications,
    known_brands,
)
from services.normalize.units import Quantity


@pytest.mark.parametrize(
    ("brand", "attributes", "title", "expected"),
    [
        ("Sony", {"Marka": "Samsung"}, "Słuchawki", Guess("Sony", 1.0, "brand field")),
        ("  Sony ", {}, "", Guess("Sony", 1.0, "brand field")),
        (None, {"Marka": "Philips"}, "Golarka", Guess("Philips", 0.9, "attribute 'Marka'")),
        (None, {"brand": "Bosch"}, "", Guess("Bosch", 0.9, "attribute 'brand'")),
        (None, {"Producent": "Zelmer"}, "", Guess("Zelmer", 0.9, "attribute 'Producent'")),
        # placeholders are no brand
        (None, {"Marka": "bez marki"}, "Etui na telefon", Guess(None, 0.0)),
        (None, {"Marka": "Inna", "Producent": "Tefal"}, "", Guess("Tefal", 0.9, "attribute 'Producent'")),
        # from the title: a known brand anywhere first, in our spelling
        (None, {}, "Słuchawki bezprzewodowe SONY WH-1000XM4", Guess("Sony", 0.5, "title, a known brand")),
        (None, {}, "Etui do SAMSUNG Galaxy S23", Guess("Samsung", 0.5, "title, a known brand")),
        # a capitalized word is not a brand: Polish titles start with the product
        (None, {}, "Odkurzacz Hyundai VC-105 bezworkowy", Guess(None, 0.0)),
        (None, {}, "Plecak szkolny dla dzieci 20 l", Guess(None, 0.0)),
        (None, {}, "Kurtka zimowa męska Outhorn", Guess(None, 0.0)),
        (None, {}, "kabel 2 m czarny", Guess(None, 0.0)),
    ],
)
def test_extracts_brand(brand, attributes, title, expected):
    assert extract_brand(brand, attributes, title) == expected


def test_the_sellers_own_brands_are_known_in_titles():
    brands = known_brands(["Hyundai", " Outhorn ", ""])
    assert extract_brand(None, {}, "Odkurzacz HYUNDAI VC-105", brands) == Guess(
        "Hyundai", 0.5, "title, a known brand"
    )
    assert extract_brand(None, {}, "Kurtka zimowa męska Outhorn", brands).value == "Outhorn"
    assert brands["sony"] == "Sony"  # the built-in ones stay


@pytest.mark.parametrize(
    ("attributes", "title", "expected"),
    [
        ({"Model": "WH-1000XM4"}, "", Guess("WH-1000XM4", 0.9, "attribute 'Model'")),
        ({"Kod producenta": "S5587/10"}, "", Guess("S5587/10", 0.9, "attribute 'Kod producenta'")),
        ({"MPN": "GSR 12V-15"}, "", Guess("GSR 12V-15", 0.9, "attribute 'MPN'")),
        (
            {"Model": "nie dotyczy"},
            "Golarka Philips S5587/10",
            Guess("S5587/10", 0.6, "title, a model-like code"),
        ),
        ({}, "Słuchawki Sony WH-1000XM4, czarne", Guess("WH-1000XM4", 0.6, "title, a model-like code")),
        # quantities and networks are not models
        ({}, "Samsung Galaxy 128GB 5G S23", Guess("S23", 0.6, "title, a model-like code")),
        ({}, "Kabel HDMI 2 m", Guess(None, 0.0)),
    ],
)
def test_extracts_model(attributes, title, expected):
    assert extract_model(attributes, title) == expected


@pytest.mark.parametrize(
    ("category", "path", "confidence"),
    [
        ("Elektronika > RTV > Słuchawki", ("Elektronika", "RTV", "Słuchawki"), 1.0),
        ("Dom i Ogród>AGD>Odkurzacze", ("Dom i Ogród", "AGD", "Odkurzacze"), 1.0),
        ("Elektronika / Telefony / Smartfony", ("Elektronika", "Telefony", "Smartfony"), 1.0),
        ("Telefony > Akcesoria GSM/Etui", ("Telefony", "Akcesoria GSM/Etui"), 1.0),  # ">" wins over "/"
        ("Elektronika » Komputery", ("Elektronika", "Komputery"), 1.0),
        (" > Zdrowie >  > Golarki > ", ("Zdrowie", "Golarki"), 1.0),
        (None, None, 0.0),
        ("  ", None, 0.0),
        (" / ", None, 0.0),
    ],
)
def test_extracts_category_path(category, path, confidence):
    guess = extract_category(category)

    assert (guess.value, guess.confidence) == (path, confidence)


def test_extracts_specifications_from_attributes_and_title():
    attributes = {
        "Kolor": "czarny",
        "Waga": "250 g",
        "Pamięć wbudowana": "128 GB",
        "Pojemność akumulatora": "3900 mAh",
        "Łączność": ["Bluetooth", "Wi-Fi", None],
        "Wodoodporność": True,
        "Przekątna ekranu": 6.1,
        "Puste": "  ",
        "Brak": None,
    }

    specs = extract_specifications(attributes, 'Samsung Galaxy S23 8/128GB 6,1" 25W')

    assert specs == [
        Spec("Kolor", "czarny", None),
        Spec("Waga", "250 g", Quantity(Decimal(250), "g")),
        Spec("Pamięć wbudowana", "128 GB", Quantity(Decimal(128), "GB")),
        Spec("Pojemność akumulatora", "3900 mAh", Quantity(Decimal(3900), "mAh")),
        Spec("Łączność", "Bluetooth, Wi-Fi", None),
        Spec("Wodoodporność", "yes", None),
        Spec("Przekątna ekranu", "6.1", None),
        # from the title, except what an attribute already states (128 GB)
        Spec("diagonal", '6,1"', Quantity(Decimal("6.1"), "in"), 0.6),
        Spec("power", "25W", Quantity(Decimal(25), "W"), 0.6),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("  dwa   słowa ", "dwa słowa"),
        (12, "12"),
        (0.1, "0.1"),
        (100.0, "100"),
        (1e20, "100000000000000000000"),
        (float("nan"), ""),
        (Decimal("1.50"), "1.5"),
        (False, "no"),
        ([], ""),
        (["a", 1, ["b"]], "a, 1, b"),
    ],
)
def test_attribute_values_as_text(value, text):
    assert attribute_text(value) == text

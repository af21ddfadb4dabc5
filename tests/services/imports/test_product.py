from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.imports.product import (
    PRICE_WARNING,
    CompetitorOffer,
    FieldError,
    ProductIn,
    may_warn,
    validate_product,
)
from services.imports.product import PRICE_WARNING_THEN as THEN

# The webhook contract's example product.
VALID = {
    "source_id": "13372954821",
    "source_url": "https://allegro.pl/oferta/x-13372954821",
    "title": "Słuchawki bezprzewodowe SONY WH-1000XM4 czarne ANC !!! SUPER OKAZJA",
    "description": "<p>...</p>",
    "price": "1 299,99 zł",
    "currency": "PLN",
    "brand": "Sony",
    "category": "Elektronika > RTV > Słuchawki",
    "ean": "4548736112100",
    "images": ["https://a.allegroimg.com/original/1.jpg"],
    "attributes": {"Kolor": "czarny", "Typ": "nauszne"},
    "stock": 12,
    "cost": 950.00,
    "competitors": [
        {"seller": "x", "price": 1249.0, "currency": "PLN", "in_stock": True, "url": "https://example.com"}
    ],
}


def _valid(**changes: object) -> dict[str, object]:
    """The example product with some keys changed; ... removes a key."""
    product = {**VALID, **changes}
    return {key: value for key, value in product.items() if value is not ...}


def _product(raw: object) -> ProductIn:
    result = validate_product(raw)
    assert isinstance(result, ProductIn), result
    return result


def test_example_product_is_valid():
    product = _product(VALID)
    assert product.source_id == "13372954821"
    assert product.title == VALID["title"]
    assert product.price == Decimal("1299.99")
    assert product.currency == "PLN"
    assert product.ean == "4548736112100"
    assert product.images == ["https://a.allegroimg.com/original/1.jpg"]
    assert product.attributes == {"Kolor": "czarny", "Typ": "nauszne"}
    assert product.stock == 12
    assert product.cost == Decimal("950.00")
    assert product.competitors == [
        CompetitorOffer(
            seller="x", price=Decimal("1249.00"), currency="PLN", in_stock=True, url="https://example.com"
        )
    ]
    assert product.raw_extra() == {}


def test_only_source_id_and_title_are_required():
    product = _product({"source_id": "1", "title": "Kubek"})
    assert product.price is None
    assert product.currency is None
    assert product.images == []
    assert product.attributes == {}
    assert product.competitors == []


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"source_id": 13372954821}, "source_id", "13372954821"),
        ({"source_id": "  abc  "}, "source_id", "abc"),
        ({"title": "  Kubek  "}, "title", "Kubek"),
        ({"title": "x" * 1000}, "title", "x" * 1000),
        ({"price": 1299.99}, "price", Decimal("1299.99")),
        ({"price": "1.299,99 €", "currency": ...}, "currency", "EUR"),
        ({"price": "1 299,99 zł", "currency": ""}, "currency", "PLN"),
        ({"price": "1299", "currency": ...}, "currency", None),
        ({"currency": " eur "}, "currency", "EUR"),
        ({"price": "1 299,99 zł", "currency": "EUR"}, "currency", "EUR"),
        ({"price": None}, "price", None),
        ({"cost": "950,00 zł"}, "cost", Decimal("950.00")),
        ({"ean": 4548736112100}, "ean", "4548736112100"),
        ({"ean": "0012345678905"}, "ean", "0012345678905"),
        ({"ean": "4548736112101"}, "ean", "4548736112101"),  # bad check digit: flagged later
        ({"ean": ""}, "ean", None),
        ({"brand": "  "}, "brand", None),
        ({"images": ["a.jpg", "  ", "", " b.jpg "]}, "images", ["a.jpg", "b.jpg"]),
        ({"stock": "12"}, "stock", 12),
        ({"stock": 0}, "stock", 0),
        ({"stock": None}, "stock", None),
    ],
)
def test_accepts_and_normalizes(changes, field, expected):
    assert getattr(_product(_valid(**changes)), field) == expected


def test_competitor_currency_comes_from_its_price_text():
    product = _product(_valid(competitors=[{"price": "1 249 zł"}]))
    assert product.competitors[0].price == Decimal("1249.00")
    assert product.competitors[0].currency == "PLN"
    assert product.competitors[0].in_stock is True


def test_unknown_keys_are_kept():
    product = _product(_valid(shop_rating=4.8, seller={"name": "x"}))
    assert product.raw_extra() == {"shop_rating": 4.8, "seller": {"name": "x"}}
    assert _product(_valid(competitors=[{"price": 10, "rank": 1}])).competitors[0].model_extra == {"rank": 1}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"source_id": ...}, [("source_id", "is required")]),
        ({"source_id": "   "}, [("source_id", "must not be blank")]),
        ({"source_id": "x" * 256}, [("source_id", "must be at most 255 characters")]),
        ({"source_id": True}, [("source_id", "must be text")]),
        ({"title": ...}, [("title", "is required")]),
        ({"title": "   "}, [("title", "must not be blank")]),
        ({"title": "x" * 1001}, [("title", "must be at most 1000 characters")]),
        ({"cost": "NaN"}, [("cost", "must be a finite number, got 'NaN'")]),
        ({"cost": "zapytaj sprzedawcę"}, [("cost", "not a number: 'zapytaj sprzedawcę'")]),
        ({"cost": -15}, [("cost", "must be a positive number, got -15")]),
        ({"currency": "złoty"}, [("currency", "must be a 3-letter currency code such as PLN")]),
        ({"images": "https://a.allegroimg.com/1.jpg"}, [("images", "must be a list of image URLs")]),
        ({"images": ["https://a.allegroimg.com/1.jpg", 2]}, [("images", "must be a list of image URLs")]),
        ({"attributes": ["czarny"]}, [("attributes", "must be an object")]),
        ({"stock": -1}, [("stock", "must be at least 0")]),
        ({"stock": "dużo"}, [("stock", "must be a whole number")]),
        ({"competitors": "x"}, [("competitors", "must be a list")]),
        (
            {"competitors": [{"price": "-3 zł"}, "x", {"seller": "y"}]},
            [
                ("competitors.0.price", "must be a positive number, got -3"),
                ("competitors.1", "must be an object"),
                ("competitors.2.price", "is required"),
            ],
        ),
        (
            {"source_id": ..., "title": "", "price": "brak"},
            [
                ("source_id", "is required"),
                ("title", "must not be blank"),
                ("price", f"warning: not a number: 'brak'; {THEN}"),
            ],
        ),
    ],
)
def test_reports_field_errors(changes, errors):
    assert validate_product(_valid(**changes)) == [FieldError(field, error) for field, error in errors]


@pytest.mark.parametrize(
    ("raw", "type_name"),
    [
        ([VALID], "array"),
        ("{}", "string"),
        (12, "number"),
        (1.5, "number"),
        (None, "null"),
        (True, "boolean"),
    ],
)
def test_rejects_anything_but_an_object(raw, type_name):
    assert validate_product(raw) == [FieldError("product", f"must be a JSON object, got {type_name}")]


@pytest.mark.parametrize(
    ("price", "why"),
    [
        ("zapytaj sprzedawcę", "not a number: 'zapytaj sprzedawcę'"),
        ("Cena do uzgodnienia", "not a number: 'Cena do uzgodnienia'"),
    ],
)
def test_a_price_with_no_number_is_a_warning_and_the_product_imports_without_one(price, why):
    product = _product(_valid(price=price))
    assert product.price is None
    assert product.currency == "PLN"  # as sent
    assert product.warnings == [FieldError("price", f"warning: {why}; {THEN}")]
    assert THEN == "imported without a price (priced from competitors where the profile allows it)"


@pytest.mark.parametrize(
    ("price", "why"),
    [
        (-15, "must be a positive number, got -15"),
        (0, "must be a positive number, got 0"),
        ("10-20 zł", "not a single price: '10-20 zł'"),
        (True, "not a number: true"),
        ("NaN", "must be a finite number, got 'NaN'"),
    ],
)
def test_a_wrong_number_still_fails_the_product(price, why):
    assert validate_product(_valid(price=price)) == [FieldError("price", why)]


def test_a_readable_or_absent_price_warns_of_nothing():
    assert _product(VALID).warnings == []
    assert _product(_valid(price="  ")).warnings == []
    assert _product(_valid(price=...)).warnings == []


def test_a_competitors_price_stays_strict():
    assert validate_product(_valid(competitors=[{"price": "brak"}])) == [
        FieldError("competitors.0.price", "not a number: 'brak'")
    ]


@pytest.mark.parametrize(
    ("offer", "marketplace"),
    [
        ({"price": 1, "url": "https://allegro.pl/oferta/x-1"}, "allegro_pl"),
        ({"price": 1, "url": "https://www.amazon.de/dp/B0"}, "amazon_de"),
        ({"price": 1, "url": "https://www.ebay.de/itm/1"}, "ebay_de"),
        ({"price": 1, "url": "https://www.kaufland.de/product/1/"}, "kaufland_de"),
        ({"price": 1, "marketplace": "amazon_de", "url": "https://allegro.pl/oferta/x-1"}, "amazon_de"),
        ({"price": 1, "marketplace": "Amazon"}, "amazon_de"),
        ({"price": 1, "marketplace": "kaufland.de"}, "kaufland_de"),
        ({"price": 1, "marketplace": "Etsy"}, "etsy"),
        ({"price": 1, "marketplace": " ", "url": "https://example.com"}, None),
        ({"price": 1}, None),
    ],
)
def test_a_competitor_says_where_it_was_seen(offer, marketplace):
    (competitor,) = _product(_valid(competitors=[offer])).competitors
    assert competitor.marketplace == marketplace
    assert competitor.model_dump(mode="json")["marketplace"] == marketplace


def _warnings(raw: dict[str, object]) -> list[str]:
    """The warnings validating `raw` gives (a product that fails lists them after its errors)."""
    checked = validate_product(raw)
    problems = checked if isinstance(checked, list) else checked.warnings
    return [p.error for p in problems if p.error.startswith(PRICE_WARNING)]


class TestMayWarn:
    """`may_warn` lets the import stage skip validating an unchanged product: it must never say no
    for a product whose validation warns."""

    @pytest.mark.parametrize("price", ["zapytaj sprzedawcę", "brak", "zł", "nan", "", "  "])
    def test_a_price_text_without_a_digit_may_warn(self, price):
        assert may_warn(_valid(price=price))

    @pytest.mark.parametrize(
        "price", ["1 299,99 zł", "PLN 1299", "-15", "1,2,3", "\u0663\u0664", 59.99, 10, None, ...]
    )
    def test_a_price_with_a_digit_or_not_text_never_warns(self, price):
        product = _valid(price=price)
        assert not may_warn(product)
        assert _warnings(product) == []

    @given(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.none(), st.booleans()))
    def test_a_product_that_may_not_warn_never_warns(self, price):
        product = _valid(price=price)
        assert may_warn(product) or _warnings(product) == []

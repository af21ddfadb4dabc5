from decimal import Decimal

import pytest

from services.normalize.units import Quantity, find_quantities, parse_quantity


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        # mass → g
        ("0,5 kg", "500", "g"),
        ("500 g", "500", "g"),
        ("1,50 kg", "1500", "g"),
        ("25 dag", "250", "g"),
        ("10 dkg", "100", "g"),
        ("250 mg", "0.25", "g"),
        ("2KG", "2000", "g"),
        # volume → ml
        ("50ml", "50", "ml"),
        ("0,05 l", "50", "ml"),
        ("1,5 L", "1500", "ml"),
        ("33 cl", "330", "ml"),
        # storage → GB, 1 TB = 1024 GB
        ("128GB", "128", "GB"),
        ("256 gb", "256", "GB"),
        ("1 TB", "1024", "GB"),
        ("2TB", "2048", "GB"),
        ("512 MB", "0.5", "GB"),
        # power, voltage, battery
        ("450 W", "450", "W"),
        ("2 200 W", "2200", "W"),
        ("2,2 kW", "2200", "W"),
        ("12 V", "12", "V"),
        ("18V", "18", "V"),
        ("5000 mAh", "5000", "mAh"),
        ("2,5 Ah", "2500", "mAh"),
        # length → mm; inches
        ("15 cm", "150", "mm"),
        ("1,5 m", "1500", "mm"),
        ("3.5 mm", "3.5", "mm"),
        ('14"', "14", "in"),
        ('15,6"', "15.6", "in"),
        ("55 cali", "55", "in"),
        ("27''", "27", "in"),
        ("  0,5 kg  ", "500", "g"),
    ],
)
def test_parses_and_normalizes(text, value, unit):
    quantity = parse_quantity(text)

    assert quantity == Quantity(Decimal(value), unit)
    assert str(quantity.value) == value  # no exponent, no trailing zeros


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "czarny",
        "Bluetooth 5.0",
        "24 miesiące",
        "5G",
        "500G",
        "8/128GB",
        "ok. 500 g",
        "30x20 cm",
        "1 000",
    ],
)
def test_other_text_is_not_a_quantity(text):
    assert parse_quantity(text) is None


def test_finds_quantities_in_a_title():
    title = 'Laptop Lenovo 15,6" 16GB/1 TB SSD 65W, kabel 1,5 m, 2 in 1, 5G, GSR12V'

    assert find_quantities(title) == [
        ('15,6"', Quantity(Decimal("15.6"), "in")),
        ("16GB", Quantity(Decimal(16), "GB")),
        ("1 TB", Quantity(Decimal(1024), "GB")),
        ("65W", Quantity(Decimal(65), "W")),
        ("1,5 m", Quantity(Decimal(1500), "mm")),
    ]


def test_quantity_reads_as_text():
    assert str(Quantity(Decimal(500), "g")) == "500 g"

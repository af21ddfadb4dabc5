"""Realistic scraped products for tests and benchmarks: `product(index)`, varied by its index, and
`spam_product(index)`, the shouting, promo-laden title with a 1 zł outlier among its competitors."""

from __future__ import annotations

import random
from typing import Any

BRANDS = ["Sony", "Samsung", "Xiaomi", "Philips", "Bosch", "JBL", "Lenovo", "Logitech", "Braun", "Tefal"]
CATEGORIES = [
    "Elektronika > RTV > Słuchawki",
    "Elektronika > Telefony > Smartfony",
    "Dom i Ogród > AGD > Odkurzacze",
    "Elektronika > Komputery > Akcesoria",
    "Zdrowie > Pielęgnacja > Golarki",
]
PRICES = ["1 299,99 zł", "1,299.99", "PLN 1299", "849,00 zł", "199.90", 59.99, "2\u00a0499,00 zł"]
DESCRIPTION = (
    "<p>Oryginalny produkt z polskiej dystrybucji. Gwarancja producenta 24 miesiące. "
    "Wysyłka w 24 godziny, faktura VAT 23%. Produkt fabrycznie nowy, zapakowany w oryginalne "
    "opakowanie producenta. W zestawie: urządzenie, kabel USB-C, instrukcja w języku polskim.</p>"
    "<ul><li>Wysoka jakość wykonania</li><li>Długi czas pracy na baterii</li>"
    "<li>Nowoczesny design</li><li>Łatwa obsługa</li></ul>"
)


def product(index: int, **overrides: Any) -> dict[str, Any]:
    rng = random.Random(index)
    brand = rng.choice(BRANDS)
    model = f"{brand[:2].upper()}-{1000 + index % 9000}X"
    base = {
        "source_id": str(13_000_000_000 + index),
        "source_url": f"https://allegro.pl/oferta/produkt-{13_000_000_000 + index}",
        "title": f"{brand} {model} bezprzewodowe czarne ANC !!! SUPER OKAZJA {index}",
        "description": DESCRIPTION * 2,
        "price": rng.choice(PRICES),
        "currency": "PLN",
        "brand": brand,
        "category": rng.choice(CATEGORIES),
        "ean": str(5_900_000_000_000 + index),
        "images": [f"https://a.allegroimg.com/original/{index}/{n}.jpg" for n in range(5)],
        "attributes": {
            "Kolor": rng.choice(["czarny", "biały", "srebrny"]),
            "Typ": "nauszne",
            "Łączność": "Bluetooth 5.0",
            "Model": model,
            "Marka": brand,
            "Stan": "Nowy",
            "Gwarancja": "24 miesiące",
            "Waga": f"{rng.randint(100, 900)} g",
            "Zasilanie": "akumulator",
            "Kod producenta": model,
        },
        "stock": rng.randint(0, 50),
        "cost": round(rng.uniform(50, 900), 2),
        "competitors": [
            {"seller": f"shop{n}", "price": round(rng.uniform(60, 1500), 2), "currency": "PLN",
             "in_stock": n != 2, "url": f"https://allegro.pl/oferta/c-{index}-{n}"}
            for n in range(3)
        ],
    }  # fmt: skip
    base.update(overrides)
    return base


def batch(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [product(start + i) for i in range(count)]


def spam_product(index: int, **overrides: Any) -> dict[str, Any]:
    """`product(index)` with a spam title (capitals, "!!!", an emoji, promo words), a known price and
    cost, and four competitors: two in stock near the price, a 1 zł outlier and one out of stock."""
    values = dict(
        title="SŁUCHAWKI SONY WH-1000XM4 CZARNE ANC !!! SUPER OKAZJA 🔥 WYSYŁKA 24H",
        brand="Sony",
        price="1 299,99 zł",
        cost="950",
        competitors=[
            {"seller": "a", "price": 1249.0, "currency": "PLN", "in_stock": True},
            {"seller": "b", "price": 1299.0, "currency": "PLN", "in_stock": True},
            {"seller": "c", "price": 1.0, "currency": "PLN", "in_stock": True},  # the 1 zł offer
            {"seller": "d", "price": 999.0, "currency": "PLN", "in_stock": False},
        ],
    )
    return product(index, **(values | overrides))


def ean13(number: int) -> str:
    """A valid EAN-13 (its check digit computed), distinct per `number`."""
    body = f"{400000000000 + number:012d}"
    total = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(body))
    return body + str((10 - total % 10) % 10)

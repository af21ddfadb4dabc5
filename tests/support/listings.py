"""Listings to score in tests: a perfect one per marketplace, changed one field at a time."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.scoring import ListingFacts

SHORT_TITLE = "Sony WH-1000XM4 Bluetooth Kopfhörer kabellos mit Noise Cancelling, schwarz"  # 74
LONG_TITLE = (
    "Sony WH-1000XM4 kabellose Bluetooth Kopfhörer mit Noise Cancelling, 30 h Akku, Schnellladen, "
    "USB-C, faltbar, Transportetui, schwarz"
)  # 131: Amazon's best range is 80-150
DESCRIPTION_HTML = (
    "<p>Die Sony WH-1000XM4 sind kabellose Over-Ear-Kopfhörer mit branchenführender Geräuschunterdrückung. "
    "Dual Noise Sensor und der HD-Prozessor QN1 filtern Umgebungsgeräusche in Echtzeit.</p>"
    "<ul><li>Bis zu 30 Stunden Akkulaufzeit, 10 Minuten Laden für 5 Stunden Musik</li>"
    "<li>Speak-to-Chat pausiert die Musik, sobald Sie sprechen</li>"
    "<li>Multipoint: mit zwei Bluetooth-Geräten gleichzeitig verbunden</li></ul>"
)
DESCRIPTION_TEXT = (
    "Die Sony WH-1000XM4 sind kabellose Over-Ear-Kopfhörer mit branchenführender Geräuschunterdrückung. "
    "Dual Noise Sensor und der HD-Prozessor QN1 filtern Umgebungsgeräusche in Echtzeit.\n\n"
    "- Bis zu 30 Stunden Akkulaufzeit, 10 Minuten Laden für 5 Stunden Musik\n"
    "- Speak-to-Chat pausiert die Musik, sobald Sie sprechen\n"
    "- Multipoint: mit zwei Bluetooth-Geräten gleichzeitig verbunden"
)
IMAGES = tuple(f"https://a.allegroimg.com/original/sony/{n}.jpg" for n in range(6))


def perfect(marketplace: str = "ebay_de", **changes: Any) -> ListingFacts:
    """A listing that meets every criterion on the marketplace, with the given fields changed."""
    title = LONG_TITLE if marketplace.startswith("amazon") else SHORT_TITLE
    facts = ListingFacts(
        marketplace=marketplace,
        title=title,
        clean_title=title,
        description_text=DESCRIPTION_TEXT,
        description_html=DESCRIPTION_HTML,
        images=IMAGES,
        image_warnings=(),
        brand="Sony",
        model="WH-1000XM4",
        gtin="4548736112100",
        gtin_valid=True,
        category_path=("Elektronika", "RTV", "Słuchawki"),
        specifications=("Kolor", "Typ", "Łączność", "Waga", "Zasilanie", "Gwarancja"),
        attribute_count=6,
    )
    return replace(facts, **changes)


def empty(marketplace: str = "ebay_de", title: str = "Kabel") -> ListingFacts:
    """Only a title: nothing else was sent."""
    return ListingFacts(
        marketplace=marketplace,
        title=title,
        clean_title=title,
        description_text="",
        description_html="",
        images=(),
        image_warnings=(),
        brand=None,
        model=None,
        gtin=None,
        gtin_valid=None,
        category_path=None,
        specifications=(),
        attribute_count=0,
    )

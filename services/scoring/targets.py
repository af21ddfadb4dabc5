"""What a good listing looks like on each marketplace: the one table the scorer reads its ranges from.

* Title length, counted as the marketplace counts it (MarketplaceRules.count_length): ``title_good``
  is the range a seller should stay in, ``title_best`` the part of it that earns full marks. eBay and
  Kaufland show 80 characters and reward using them (50-80); Amazon allows 200 but cuts long titles
  on mobile and in search, so 80-150 is best and 60-200 still fine. Allegro allows 75.
* Images: one is required everywhere, five or more recommended. ``images_shown`` is the most the
  marketplace shows (eBay 24, Amazon 9 on the product page, Allegro 16); more earn nothing and lose
  nothing. None: no limit we rely on (Kaufland).
* ``missing_ean``: why a missing EAN hurts there, in the seller's words, for the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

IMAGES_RECOMMENDED = 5


@dataclass(frozen=True, slots=True)
class Targets:
    title_good: tuple[int, int]
    title_best: tuple[int, int]
    images_shown: int | None
    missing_ean: str


_AMAZON = Targets((60, 200), (80, 150), 9, "no EAN: Amazon needs one to list (or a GTIN exemption)")
_EBAY = Targets((50, 80), (50, 80), 24, "no EAN: eBay asks for one on branded products")

TARGETS: Mapping[str, Targets] = MappingProxyType(
    {
        "amazon_de": _AMAZON,
        "amazon_pl": _AMAZON,
        "ebay_de": _EBAY,
        "ebay_pl": _EBAY,
        "kaufland_de": Targets((50, 80), (50, 80), None, "no EAN: Kaufland lists by EAN"),
        "allegro_pl": Targets((40, 75), (50, 75), 16, "no EAN: Allegro links offers to products by EAN"),
    }
)

"""The SKU of a product on a marketplace: stable across re-imports, readable where it can be.

A SKU is the seller's own key of an offer on a marketplace, and publishing is idempotent by it: the
same product must always get the same SKU, whatever job imports it. It is derived from what
identifies a product here, `(source_platform, source_id)`, and the marketplace's country:

    allegro-12345678-DE

the source (its first 12 characters, lower case), the source id, and the country code; the country
keeps the two offers of one product apart on two marketplaces of one account (amazon_de and
amazon_pl share an Amazon seller account and its SKUs). A source id that is too long for the
tightest marketplace (Amazon: 40 characters) or holds characters outside letters, digits, `.`, `_`
and `-` gives way to the first 16 hex digits of SHA-256 of source and id: stable, and as unique as
any catalogue needs (a collision is 1 in 2^64 per pair).
"""

from __future__ import annotations

import hashlib
import re

from services.marketplaces import rules_for

MAX_LENGTH = 40  # Amazon's limit; eBay allows 50, Kaufland's id_offer more
_SAFE = re.compile(r"[A-Za-z0-9._-]+")


def sku_for(source_platform: str, source_id: str, marketplace: str) -> str:
    """The SKU of the product (source_platform, source_id) on `marketplace`; KeyError for an
    unknown marketplace."""
    source = re.sub(r"[^a-z0-9]", "", source_platform.strip().lower())[:12] or "src"
    country = rules_for(marketplace).country
    readable = f"{source}-{source_id}-{country}"
    if _SAFE.fullmatch(source_id) and len(readable) <= MAX_LENGTH:
        return readable
    digest = hashlib.sha256(f"{source}\x1f{source_id}".encode()).hexdigest()[:16]
    return f"{source}-{digest}-{country}"

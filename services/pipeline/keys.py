"""The keys that let a stage skip a product whose inputs have not changed since it last ran.

A key is a sha256 over everything the stage's result depends on. Normalize depends on the scraped
content and the normalizer's version; optimize on the normalized content, the marketplace, its
language, the prompt version and the model; price on the offer (price, cost, stock, competitors), the
profile, the marketplace's fee and the exchange rates; score on the normalized content, the price
(through its key), the seller's rules and the quality weights. The import stores the content and
offer hashes on the product, so a re-import of the same offer reaches every stage with the same keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

from services.normalize.extract import KNOWN_BRANDS
from services.pricing import ExchangeRates

# Bump when the normalizer's output for the same input changes: every product is normalized again.
NORMALIZER_VERSION = "2"  # 2: no brand guessed from a title's capitalized word
# Bump when the scorer's or the rules engine's output for the same input changes.
SCORER_VERSION = "2"  # 2: the copy's language and the listing's readiness


# A run asks for each key twice (whether a stage has work on a product, then in its work): the second
# is a lookup. Pure, so the cache changes no result.
@lru_cache(maxsize=16_384)
def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def normalize_key(content_hash: str, brands: str = "") -> str:
    """`brands`: brands_fingerprint of the brands a title may name, when the seller added some."""
    return _key("normalize", NORMALIZER_VERSION, content_hash, brands)


def brands_fingerprint(brands: Mapping[str, str]) -> str:
    """ "" for the built-in brands (the usual case), else a key of the whole list."""
    if brands is KNOWN_BRANDS or dict(brands) == KNOWN_BRANDS:
        return ""
    return _key("brands", *sorted(brands.values()))


def copy_key(normalize: str, marketplace: str, language: str, prompt_version: str, model: str) -> str:
    return _key("copy", normalize, marketplace, language, prompt_version, model)


def source_hash(data_message: str, language: str) -> str:
    """The AI copy cache's key for what the model is sent: the product's DATA and the language."""
    return _key("source", language, data_message)


def price_key(offer_hash: str, profile: str, fee: Decimal, rates: str) -> str:
    return _key("price", offer_hash, profile, str(fee), rates)


def score_key(
    normalize: str, price: str | None, rules: str, weights: str, *, copy: str = "", readiness: str = ""
) -> str:
    """`copy`: the key of the model's copy when the listing has it (its title and grounding are
    scored); `readiness`: what publishability depends on beyond these (the languages told apart, the
    marketplace's language, whether the job asked for AI copy)."""
    return _key("score", SCORER_VERSION, normalize, price or "", rules, weights, copy, readiness)


def rates_fingerprint(rates: ExchangeRates) -> str:
    listed = ",".join(f"{code}={rate}" for code, rate in sorted(rates.rates.items()))
    return _key("rates", rates.as_of.isoformat(), listed)


def weights_fingerprint(weights: Mapping[str, int]) -> str:
    return _key("weights", *(f"{name}={value}" for name, value in sorted(weights.items())))

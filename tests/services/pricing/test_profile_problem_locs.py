"""A problem's field (``loc``) is data from the profile's validation, passed on as it is.

It is never read back from the message: rewording a message cannot move a problem in the API's
answer. The profile below gives problems whose words name another field, or no field at all.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.pricing import store as pricing_store
from services.pricing.profiles import PricingProfile, Problem
from services.pricing.store import FieldProblem, InvalidProfileValues

VALID = {**pricing_store.DEFAULTS, "name": "summer", "strategy": "follow_lowest", "currency": "EUR"}
REWORDED = [
    Problem(("max_price",), "must not be below the min_price"),  # names another field first
    Problem(("currency",), "use a three-letter code such as EUR"),  # names no field
    Problem(("beat_by_amount",), "name must not be empty"),  # words of another field's problem
]


def test_the_store_passes_on_the_loc_the_profile_gave_whatever_the_words(monkeypatch):
    monkeypatch.setattr(PricingProfile, "problems", lambda self: list(REWORDED))
    with pytest.raises(InvalidProfileValues) as caught:
        pricing_store.validate_profile(VALID)
    assert caught.value.problems == REWORDED


def test_a_field_the_profile_refused_is_not_checked_again_for_its_column(monkeypatch):
    monkeypatch.setattr(PricingProfile, "problems", lambda self: list(REWORDED))
    with pytest.raises(InvalidProfileValues) as caught:
        # beat_by_amount is beyond its column too, but the profile named it already
        pricing_store.validate_profile({**VALID, "beat_by_amount": Decimal("1e11")})
    assert caught.value.problems == REWORDED


def test_the_store_uses_the_profiles_problem_type():
    assert FieldProblem is Problem  # the API's answer is built from these, loc and message as given


def test_real_problems_carry_their_fields():
    with pytest.raises(InvalidProfileValues) as caught:
        pricing_store.validate_profile(
            {
                **VALID,
                "strategy": "cheapest",
                "fallback_strategy": "cheapest",
                "min_price": Decimal(5),
                "max_price": Decimal(4),
                "markup_percent": Decimal("0.0001"),
                "marketplace_fees": {"ebay_de": Decimal(100)},
            }
        )
    assert [problem.loc for problem in caught.value.problems] == [
        ("strategy",),
        ("fallback_strategy",),
        ("min_price",),
        ("markup_percent",),
        ("marketplace_fees", "ebay_de"),
    ]

"""Stored pricing profiles: the pure profile of a row, the default, fees, fingerprints, changes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from models import PricingProfileRow
from services.marketplaces import MARKETPLACES
from services.pricing import PricingProfile
from services.pricing import store as pricing_store
from services.pricing.store import (
    DefaultProfileRequired,
    InvalidProfileValues,
    ProfileFields,
    ProfileNameTaken,
    ProfileNotFound,
    find_profile,
    marketplace_fee,
    profile_fingerprint,
    profile_from_row,
)

FULL: ProfileFields = {
    "name": "electronics",
    "strategy": "markup_cost",
    "fallback_strategy": "follow_lowest",
    "currency": "pln",
    "markup_percent": Decimal("35.5"),
    "beat_by_amount": Decimal("0.5"),
    "beat_by_percent": Decimal("1.25"),
    "min_price": Decimal("10"),
    "max_price": Decimal("2499.99"),
    "margin_floor_percent": Decimal("12"),
    "charm_ending": Decimal("0.99"),
    "max_change_percent": Decimal("20"),
    "use_other_marketplaces": True,
    "min_source_percent": Decimal("75"),
    "category_vat_rates": {"DE": {"Bücher": Decimal(7)}},
}


def stored(**values):
    """A transient row (no database) with FULL's values, for the pure functions."""
    fields = {**FULL, "currency": "PLN", "marketplace_fees": {}, "is_default": False, **values}
    return PricingProfileRow(id=1, **fields)


def problems_of(values):
    with pytest.raises(InvalidProfileValues) as caught:
        pricing_store.validate_profile({**pricing_store.DEFAULTS, **values})
    return {(problem.loc, problem.message) for problem in caught.value.problems}


class TestFindProfile:
    def test_none_is_the_seeded_default(self, db_session):
        default = find_profile(db_session, None)
        assert (default.name, default.is_default) == ("default", True)
        assert find_profile(db_session, "default") is default
        assert profile_from_row(default) == PricingProfile(
            name="default",
            strategy="follow_lowest",
            fallback_strategy="markup_source",
            currency="EUR",
            beat_by_percent=Decimal(1),
            charm_ending=Decimal("0.99"),
            max_change_percent=Decimal(20),
            margin_floor_percent=Decimal(0),  # never below cost + fee + VAT (migration 0006)
            min_source_percent=Decimal(80),  # without a cost, not far below the source price
        )
        assert default.use_other_marketplaces is False

    def test_an_unknown_name_is_named(self, db_session):
        with pytest.raises(ProfileNotFound, match="'summer sale'"):
            find_profile(db_session, "summer sale")

    def test_no_default_at_all(self, db_session):
        db_session.execute(update(PricingProfileRow).values(is_default=False))
        with pytest.raises(ProfileNotFound, match="no default"):
            find_profile(db_session, None)


class TestProfileFromRow:
    def test_round_trip_equals_the_pure_profile_of_the_same_values(self, db_session):
        row = pricing_store.create_profile(db_session, {**FULL, "marketplace_fees": {"ebay_de": Decimal(9)}})
        db_session.expire(row)  # read back what the database holds

        profile = profile_from_row(row)

        expected: dict[str, Any] = dict(FULL)
        assert profile == PricingProfile(**expected)
        assert profile.currency == "PLN"
        # The Decimals as stored: the columns' scale.
        assert (str(profile.min_price), str(profile.markup_percent)) == ("10.00", "35.500")

    def test_every_field_is_carried(self):
        profile = profile_from_row(stored())
        for field in pricing_store.PRICING_FIELDS:
            assert getattr(profile, field) == getattr(stored(), field), field


class TestMarketplaceFee:
    def test_the_profiles_own_fee_else_the_usual_one(self):
        row = stored(marketplace_fees={"ebay_de": "9.5"})
        assert marketplace_fee(row, "ebay_de") == Decimal("9.5")
        assert marketplace_fee(row, "amazon_de") == MARKETPLACES["amazon_de"].fee_percent == Decimal(15)

    def test_an_unknown_marketplace_names_the_known_ones(self):
        with pytest.raises(KeyError, match="ebay_de"):
            marketplace_fee(stored(), "etsy")


CHANGED = {
    "strategy": "markup_source",
    "fallback_strategy": None,
    "currency": "EUR",
    "markup_percent": Decimal("35.6"),
    "beat_by_amount": Decimal("0.51"),
    "beat_by_percent": Decimal(2),
    "min_price": None,
    "max_price": Decimal(3000),
    "margin_floor_percent": Decimal(11),
    "charm_ending": Decimal("0.49"),
    "max_change_percent": Decimal(25),
    "use_other_marketplaces": False,
    "min_source_percent": Decimal(70),
}


class TestFingerprint:
    def test_is_sha256_hex(self):
        fingerprint = profile_fingerprint(stored())
        assert len(fingerprint) == 64
        int(fingerprint, 16)

    @pytest.mark.parametrize("field", pricing_store.PRICING_FIELDS)
    def test_changes_with_every_pricing_field(self, field):
        assert set(CHANGED) == set(pricing_store.PRICING_FIELDS)
        assert profile_fingerprint(stored(**{field: CHANGED[field]})) != profile_fingerprint(stored())

    def test_changes_with_a_fee(self):
        base = profile_fingerprint(stored(marketplace_fees={"ebay_de": "9.5"}))
        assert profile_fingerprint(stored(marketplace_fees={"ebay_de": "9.6"})) != base
        assert profile_fingerprint(stored(marketplace_fees={"ebay_de": "9.5", "amazon_de": "12"})) != base
        assert profile_fingerprint(stored(marketplace_fees={})) != base

    def test_changes_with_a_reduced_vat_rate(self):
        base = profile_fingerprint(stored())
        assert profile_fingerprint(stored(category_vat_rates={"DE": {"Bücher": "5"}})) != base
        assert profile_fingerprint(stored(category_vat_rates={})) != base
        assert profile_fingerprint(stored(category_vat_rates={"DE": {"Bücher": "7.00"}})) == base

    def test_a_fee_equal_to_the_usual_one_prices_the_same(self):
        assert profile_fingerprint(stored(marketplace_fees={"ebay_de": "11"})) == profile_fingerprint(
            stored()
        )

    def test_not_the_name_the_default_or_the_timestamps(self):
        base = profile_fingerprint(stored())
        renamed = stored(name="another", is_default=True)
        renamed.id = 7
        renamed.created_at = renamed.updated_at = datetime(2030, 1, 1, tzinfo=UTC)
        assert profile_fingerprint(renamed) == base

    def test_not_the_scale_of_a_value(self):
        assert profile_fingerprint(stored(markup_percent=Decimal("35.500"), min_price=Decimal("10.00"))) == (
            profile_fingerprint(stored())
        )

    def test_a_stored_row_keeps_its_fingerprint(self, db_session):
        row = pricing_store.create_profile(
            db_session, {**FULL, "marketplace_fees": {"ebay_de": Decimal("9.50")}}
        )
        before = profile_fingerprint(row)
        db_session.expire(row)
        assert (
            profile_fingerprint(row)
            == before
            == profile_fingerprint(stored(marketplace_fees={"ebay_de": "9.5"}))
        )


class TestValidation:
    def test_every_problem_with_its_field(self):
        problems = problems_of(
            {
                "name": " ",
                "strategy": "cheapest",
                "fallback_strategy": "cheapest",
                "currency": "EURO",
                "markup_percent": Decimal(-1),
                "beat_by_amount": Decimal("0.001"),
                "beat_by_percent": Decimal(100),
                "min_price": Decimal(0),
                "max_price": Decimal("-5"),
                "margin_floor_percent": Decimal("1.2345"),
                "charm_ending": Decimal(1),
                "max_change_percent": Decimal(10_000),
                "marketplace_fees": {"etsy": Decimal(5), "ebay_de": Decimal(100), "amazon_de": Decimal(-1)},
            }
        )
        fields = {loc for loc, _ in problems}
        assert fields == {
            ("name",), ("strategy",), ("fallback_strategy",), ("currency",), ("markup_percent",),
            ("beat_by_amount",), ("beat_by_percent",), ("min_price",), ("max_price",),
            ("margin_floor_percent",), ("charm_ending",), ("max_change_percent",),
            ("marketplace_fees", "etsy"), ("marketplace_fees", "ebay_de"), ("marketplace_fees", "amazon_de"),
        }  # fmt: skip
        for loc, message in problems:
            assert loc[-1] in message

    def test_min_above_max_is_about_the_min(self):
        problems = problems_of({**FULL, "min_price": Decimal(100), "max_price": Decimal(50)})
        assert [loc for loc, _ in problems] == [("min_price",)]

    def test_an_unknown_marketplace_names_the_known_ones(self):
        ((loc, message),) = problems_of({**FULL, "marketplace_fees": {"etsy": Decimal(5)}})
        assert loc == ("marketplace_fees", "etsy")
        assert all(marketplace in message for marketplace in MARKETPLACES)

    def test_values_the_columns_cannot_hold(self):
        assert problems_of({**FULL, "max_price": Decimal("10000000000")}) == {
            (("max_price",), "max_price must be below 10000000000, got 10000000000")
        }
        assert problems_of({**FULL, "name": "x" * 101}) == {
            (("name",), "name must be at most 100 characters")
        }

    def test_an_absurd_exponent_is_a_problem_not_a_crash(self):
        (((loc, message),)) = problems_of({**FULL, "markup_percent": Decimal("1e999999999")})
        assert loc == ("markup_percent",)
        assert "too large" in message
        ((loc, _),) = problems_of({**FULL, "marketplace_fees": {"ebay_de": Decimal("1e999999999")}})
        assert loc == ("marketplace_fees", "ebay_de")

    def test_a_margin_is_below_100_percent(self):
        ((loc, message),) = problems_of({**FULL, "margin_floor_percent": Decimal(100)})
        assert (loc, message) == (
            ("margin_floor_percent",),
            "margin_floor_percent must be below 100, got 100",
        )

    def test_reduced_vat_rates_name_their_country_and_category(self):
        rates = {"DEU": {"x": Decimal(7)}, "PL": {" ": Decimal(5), "Książki": Decimal(100)}}
        problems = problems_of({**FULL, "category_vat_rates": rates})
        assert {loc for loc, _ in problems} == {
            ("category_vat_rates", "DEU"), ("category_vat_rates", "PL", ""),
            ("category_vat_rates", "PL", "Książki"),
        }  # fmt: skip
        ((loc, message),) = problems_of({**FULL, "category_vat_rates": {"AT": {"Bücher": Decimal("7.0001")}}})
        assert loc == ("category_vat_rates", "AT", "Bücher")
        assert "at most 3 decimal places" in message

    def test_reduced_vat_rates_are_stored_as_plain_text(self, db_session):
        row = pricing_store.create_profile(
            db_session, {**FULL, "category_vat_rates": {"de": {" Bücher ": Decimal("7.00")}}}
        )
        db_session.expire(row)
        assert row.category_vat_rates == {"DE": {"Bücher": "7"}}
        assert profile_from_row(row).category_vat_rates == {"DE": {"Bücher": Decimal(7)}}
        changed = pricing_store.update_profile(db_session, row.id, {"min_source_percent": None})
        assert changed.category_vat_rates == {"DE": {"Bücher": "7"}}
        assert (changed.min_source_percent, changed.use_other_marketplaces) == (None, True)

    def test_fees_are_stored_as_plain_text(self):
        fees = {"ebay_de": Decimal("9.50"), "amazon_de": Decimal("0.000")}
        _, stored_fees = pricing_store.validate_profile({**FULL, "marketplace_fees": fees})
        assert stored_fees == {"ebay_de": "9.5", "amazon_de": "0"}


def defaults(session):
    return list(session.scalars(select(PricingProfileRow.name).where(PricingProfileRow.is_default)))


class TestChanges:
    def test_create_update_delete(self, db_session):
        row = pricing_store.create_profile(
            db_session, {"name": " bikes ", "strategy": "markup_cost", "currency": "eur"}
        )
        assert (row.name, row.currency, row.markup_percent, row.is_default) == (
            "bikes",
            "EUR",
            Decimal(0),
            False,
        )
        assert row.created_at is not None

        changed = pricing_store.update_profile(
            db_session, row.id, {"markup_percent": Decimal(40), "min_price": Decimal(5)}
        )
        assert (changed.markup_percent, changed.min_price, changed.strategy) == (
            Decimal(40),
            Decimal(5),
            "markup_cost",
        )

        pricing_store.delete_profile(db_session, row.id)
        with pytest.raises(ProfileNotFound):
            pricing_store.get_profile(db_session, row.id)
        with pytest.raises(ProfileNotFound):
            pricing_store.delete_profile(db_session, row.id)

    def test_update_validates_the_merged_values(self, db_session):
        row = pricing_store.create_profile(db_session, {**FULL})
        with pytest.raises(InvalidProfileValues, match="min_price 3 000,00 PLN is above max_price"):
            pricing_store.update_profile(db_session, row.id, {"min_price": Decimal(3000)})

    def test_names_are_unique(self, db_session):
        pricing_store.create_profile(db_session, {**FULL})
        with pytest.raises(ProfileNameTaken, match="'electronics'"):
            pricing_store.create_profile(db_session, {**FULL})
        other = pricing_store.create_profile(db_session, {**FULL, "name": "toys"})
        with pytest.raises(ProfileNameTaken):
            pricing_store.update_profile(db_session, other.id, {"name": "electronics"})
        assert pricing_store.update_profile(db_session, other.id, {"name": "toys"}).name == "toys"

    def test_switching_the_default_leaves_exactly_one(self, db_session):
        old = find_profile(db_session, None)
        new = pricing_store.create_profile(db_session, {**FULL})

        assert pricing_store.set_default(db_session, new.id).is_default
        assert defaults(db_session) == ["electronics"]
        assert old.is_default is False
        assert find_profile(db_session, None) is new
        assert pricing_store.set_default(db_session, new.id).is_default  # already: nothing changes
        assert defaults(db_session) == ["electronics"]

    def test_created_as_the_default(self, db_session):
        pricing_store.create_profile(db_session, {**FULL, "is_default": True})
        assert defaults(db_session) == ["electronics"]
        assert [row.name for row in pricing_store.list_profiles(db_session)] == ["electronics", "default"]

    def test_the_default_cannot_be_deleted_or_unset(self, db_session):
        default = find_profile(db_session, None)
        with pytest.raises(DefaultProfileRequired, match="make another profile the default first"):
            pricing_store.delete_profile(db_session, default.id)
        with pytest.raises(DefaultProfileRequired):
            pricing_store.update_profile(db_session, default.id, {"is_default": False})
        assert db_session.scalar(select(func.count()).select_from(PricingProfileRow)) == 1

    def test_update_can_make_it_the_default(self, db_session):
        row = pricing_store.create_profile(db_session, {**FULL})
        assert pricing_store.update_profile(db_session, row.id, {"is_default": True}).is_default
        assert defaults(db_session) == ["electronics"]

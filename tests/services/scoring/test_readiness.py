"""Whether a listing may go out, and every reason it may not."""

from __future__ import annotations

import pytest

from services.marketplaces import rules_for
from services.scoring import score_listing
from services.scoring.readiness import BLOCKER_CODES, ListingState, copy_language, readiness
from tests.support.listings import empty, perfect

GERMAN = ListingState("de", "de", "priced")


def codes(facts, state, marketplace="ebay_de"):
    return [blocker.code for blocker in readiness(facts, state, rules_for(marketplace)).blockers]


def test_a_complete_german_listing_at_a_price_is_publishable():
    ready = readiness(perfect("amazon_de"), GERMAN, rules_for("amazon_de"))
    assert ready.publishable
    assert ready.blockers == ()
    assert ready.language == "de"


class TestLanguage:
    def test_a_polish_copy_on_a_german_marketplace_is_not_publishable_and_says_so(self):
        ready = readiness(perfect(), ListingState("pl", "pl", "priced"), rules_for("ebay_de"))
        assert not ready.publishable
        (blocker,) = ready.blockers
        assert blocker.code == "language"
        assert blocker.message == (
            "eBay.de lists in German: its description is in Polish and its title is in Polish"
        )

    def test_the_description_decides_the_copys_language_and_the_title_counts_when_it_is_told(self):
        assert copy_language("de", "pl") == "pl"
        assert copy_language(None, "de") == "de"
        assert copy_language("pl", None) == "pl"
        assert copy_language(None, None) is None
        # A German description under a Polish title is still wrong on the title.
        assert codes(perfect(), ListingState("pl", "de", "priced")) == ["language"]

    def test_a_copy_whose_language_cannot_be_told_blocks_nothing(self):
        assert codes(perfect(), ListingState(None, None, "priced")) == []

    def test_polish_is_right_on_allegro(self):
        assert (
            codes(
                perfect("allegro_pl", title="Słuchawki Sony WH-1000XM4 czarne"),
                ListingState("pl", "pl", "priced"),
                "allegro_pl",
            )
            == []
        )

    def test_a_configured_language_is_the_one_checked(self):
        english_amazon = rules_for("amazon_de", {"amazon_de": "en"})
        ready = readiness(perfect("amazon_de"), GERMAN, english_amazon)
        assert [b.message for b in ready.blockers] == [
            "Amazon.de lists in English: its description is in German and its title is in German"
        ]


class TestPrice:
    @pytest.mark.parametrize(
        ("state", "says"),
        [
            (ListingState("de", "de", None), "no price"),
            (ListingState("de", "de", "no_price"), "no price"),
            (
                ListingState(
                    "de", "de", "needs_review", price_reasons=("a change of 40 % from the last price",)
                ),
                "price held for review (proposed, not applied): a change of 40 % from the last price",
            ),
            (
                ListingState("de", "de", "priced", below_floor="93,10 EUR"),
                "price below the floor of 93,10 EUR",
            ),
        ],
    )
    def test_no_price_a_price_held_for_review_or_below_the_floor_blocks(self, state, says):
        (blocker,) = readiness(perfect(), state, rules_for("ebay_de")).blockers
        assert blocker.code == "price"
        assert blocker.message.startswith(says)


def test_a_block_rule_blocks_naming_the_rules():
    state = ListingState("de", "de", "priced", block_rules=("no alcohol", "restricted category"))
    (blocker,) = readiness(perfect(), state, rules_for("ebay_de")).blockers
    assert blocker.code == "rules"
    assert blocker.message == "blocked by your rules 'no alcohol', 'restricted category'"


class TestMissing:
    def test_kaufland_and_amazon_need_a_valid_ean_ebay_does_not(self):
        no_ean = perfect(gtin=None, gtin_valid=None)
        assert codes(no_ean, GERMAN, "kaufland_de") == ["missing"]
        assert codes(no_ean, GERMAN, "amazon_de") == ["missing"]
        assert codes(no_ean, GERMAN, "ebay_de") == []
        (blocker,) = readiness(
            perfect(gtin="4548736112101", gtin_valid=False), GERMAN, rules_for("kaufland_de")
        ).blockers
        assert blocker.message == "Kaufland.de needs a valid EAN: 4548736112101 fails its check"

    def test_every_marketplace_needs_an_image(self):
        (blocker,) = readiness(perfect(images=()), GERMAN, rules_for("ebay_de")).blockers
        assert blocker.message == "eBay.de needs an image, the listing has 0"

    def test_a_model_title_outside_the_marketplaces_rules_is_missing_a_title(self):
        state = ListingState("de", "de", "priced", ai_status="optimized")
        (blocker,) = readiness(perfect(title="x " * 60), state, rules_for("ebay_de")).blockers
        assert blocker.code == "missing"
        assert "the title breaks eBay.de's rules: too long" in blocker.message

    def test_a_fitted_title_is_not_checked_again_but_an_empty_one_is_missing(self):
        # The normalizer's titles pass their marketplace's rules by construction (fit_title).
        assert codes(perfect(title="x " * 60), GERMAN) == []
        (blocker,) = readiness(perfect(title=" "), GERMAN, rules_for("ebay_de")).blockers
        assert blocker.message == "the listing has no title"

    def test_a_bare_listing_lists_everything_it_lacks(self):
        state = ListingState(None, None, None)
        assert codes(empty("kaufland_de"), state, "kaufland_de") == ["price", "missing", "missing"]


class TestCopy:
    def test_ai_copy_asked_for_and_not_obtained_blocks_with_the_reason(self):
        state = ListingState(
            "de", "de", "priced", copy_required=True, ai_status="fallback", ai_reason="AI unavailable: 429"
        )
        (blocker,) = readiness(perfect(), state, rules_for("ebay_de")).blockers
        assert blocker.message == "the job asked for AI copy and this listing has none: AI unavailable: 429"

    def test_ai_copy_obtained_or_not_asked_for_blocks_nothing(self):
        assert (
            codes(perfect(), ListingState("de", "de", "priced", copy_required=True, ai_status="optimized"))
            == []
        )
        assert codes(perfect(), ListingState("de", "de", "priced", ai_status="deterministic")) == []


def test_blockers_come_in_the_order_of_their_codes():
    state = ListingState("pl", "pl", None, block_rules=("x",), copy_required=True, ai_status="fallback")
    ready = readiness(empty("kaufland_de"), state, rules_for("kaufland_de"))
    found = [blocker.code for blocker in ready.blockers]
    assert found == sorted(found, key=BLOCKER_CODES.index)
    assert set(found) == set(BLOCKER_CODES)
    assert ready.blockers_json()[0] == {"code": "language", "message": ready.blockers[0].message}


class TestQualityScore:
    def test_a_copy_in_the_wrong_language_keeps_half_its_title_and_description_points(self):
        right = score_listing(perfect(copy_language="de", expected_language="de"))
        wrong = score_listing(perfect(copy_language="pl", expected_language="de"))
        assert right.score == 100
        parts = {part.name: part for part in wrong.parts}
        assert parts["title"].points == parts["title"].max_points / 2
        assert parts["description"].points == parts["description"].max_points / 2
        assert parts["images"].points == parts["images"].max_points
        assert wrong.score == 70
        assert (
            wrong.fixes[0]
            == "description in Polish, eBay.de lists in German: write it in German (+15 points)"
        )
        assert "title in Polish, eBay.de lists in German" in wrong.parts[0].checks

    def test_a_copy_whose_language_cannot_be_told_loses_nothing(self):
        assert score_listing(perfect(copy_language=None, expected_language="de")).score == 100

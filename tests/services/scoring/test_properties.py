"""Invariants of score_listing for any facts and weights: bounds, grades, determinism, monotony."""

from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from services.marketplaces import MARKETPLACES
from services.scoring import ListingFacts, ScoreWeights, grade_for, score_listing
from tests.support.listings import DESCRIPTION_TEXT, LONG_TITLE, SHORT_TITLE, perfect

WORDS = [*SHORT_TITLE.split(), *LONG_TITLE.split(), "SONY", "KOPFHÖRER", "!", "★", "&", "-", "Etui", "etui"]
PHRASES = st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=40).map(" ".join)
URLS = st.integers(0, 50).map(lambda n: f"https://a.allegroimg.com/{n}.jpg")
WARNINGS = st.sampled_from(
    [
        "upgraded to https: http://a.allegroimg.com/1.jpg",
        "dropped a duplicate: https://a.allegroimg.com/1.jpg",
        "dropped a URL that is not http(s): 'ftp://x'",
        "something else",
    ]
)
FACTS = st.builds(
    ListingFacts,
    marketplace=st.sampled_from(sorted(MARKETPLACES)),
    title=PHRASES,
    clean_title=PHRASES,
    description_text=st.sampled_from(["", DESCRIPTION_TEXT, SHORT_TITLE]) | st.text(max_size=400),
    description_html=st.sampled_from(["", "<p>a</p>", "<p>a</p><p>b</p>", "<ul><li>a</li></ul>", "<br>"]),
    images=st.lists(URLS | st.sampled_from(["http://a.allegroimg.com/h.jpg", ""]), max_size=30).map(tuple),
    image_warnings=st.lists(WARNINGS, max_size=4).map(tuple),
    brand=st.none() | st.sampled_from(["Sony", "SONY", "Bose"]) | st.text(max_size=12),
    model=st.none() | st.sampled_from(["WH-1000XM4", "QC45"]) | st.text(max_size=12),
    gtin=st.none() | st.text("0123456789 -x", max_size=15),
    gtin_valid=st.none() | st.booleans(),
    category_path=st.none() | st.lists(st.text(max_size=10), max_size=4).map(tuple),
    specifications=st.lists(st.text(max_size=10), max_size=8).map(tuple),
    attribute_count=st.integers(0, 30),
    ai_grounding=st.none() | st.floats(-3, 3, allow_nan=False),
)
WEIGHTS = st.tuples(*[st.integers(0, 100)] * 4).filter(any).map(lambda values: ScoreWeights(*values))
GAIN_RE = re.compile(r" \(\+(\d+(?:\.\d)?) points?\)$")


@given(FACTS, WEIGHTS)
def test_the_score_is_0_to_100_its_grade_and_the_sum_of_its_parts(facts, weights):
    result = score_listing(facts, weights)

    assert 0 <= result.score <= 100
    assert result.grade == grade_for(result.score)
    assert abs(sum(part.max_points for part in result.parts) - 100) < 0.021  # each rounded to cents
    assert all(0 <= part.points <= part.max_points for part in result.parts)
    assert abs(result.score - sum(part.points for part in result.parts)) <= 0.5 + 0.02


@given(FACTS, WEIGHTS)
def test_no_fix_promises_more_than_the_score_lacks(facts, weights):
    result = score_listing(facts, weights)

    gains = []
    for fix in result.fixes:
        found = GAIN_RE.search(fix)
        assert found, fix
        gains.append(float(found[1]))
    assert all(0 < gain <= 100 - result.score + 0.55 for gain in gains)
    assert gains == sorted(gains, reverse=True)


@given(st.sampled_from(sorted(MARKETPLACES)), WEIGHTS)
def test_a_perfect_listing_scores_100_whatever_the_weights(marketplace, weights):
    assert score_listing(perfect(marketplace), weights).score == 100


@given(FACTS, WEIGHTS)
def test_the_same_facts_give_the_same_score(facts, weights):
    first = score_listing(facts, weights)

    assert score_listing(replace(facts), weights) == first
    assert score_listing(facts, weights).to_json() == first.to_json()


@given(FACTS, WEIGHTS, st.integers(100, 200))
def test_adding_an_image_never_lowers_the_score(facts, weights, n):
    """Another image as the cleaner gives them: https, not one the listing already has."""
    more = replace(facts, images=(*facts.images, f"https://a.allegroimg.com/{n}.jpg"))

    before, after = score_listing(facts, weights), score_listing(more, weights)

    assert after.score >= before.score
    assert after.parts[2].points >= before.parts[2].points

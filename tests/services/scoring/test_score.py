"""score_listing as a whole: grades, scaling, the perfect and the empty listing, marketplaces, JSON."""

from __future__ import annotations

import json

import pytest

from services.marketplaces import MARKETPLACES, fit_title, rules_for
from services.scoring import (
    TARGETS,
    PartScore,
    QualityScore,
    ScoreWeights,
    grade_for,
    score_listing,
)
from tests.support.listings import empty, perfect

TITLE_94 = "Sony WH-1000XM4 Bluetooth Kopfhörer kabellos mit Noise Cancelling, schwarz, 30 h Akku, faltbar"


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, "A"), (90, "A"), (89, "B"), (80, "B"), (79, "C"),
     (70, "C"), (69, "D"), (60, "D"), (59, "E"), (0, "E")],
)  # fmt: skip
def test_grade_boundaries(score, grade):
    assert grade_for(score) == grade


@pytest.mark.parametrize("score", [-1, 101])
def test_a_grade_needs_a_score_of_0_to_100(score):
    with pytest.raises(ValueError, match=f"a score is 0-100, got {score}"):
        grade_for(score)


@pytest.mark.parametrize("marketplace", sorted(MARKETPLACES))
def test_a_perfect_listing_scores_100_and_grade_a_on_every_marketplace(marketplace):
    result = score_listing(perfect(marketplace))

    assert (result.score, result.grade, result.fixes) == (100, "A", [])
    assert [(p.name, p.points, p.max_points) for p in result.parts] == [
        ("title", 30, 30),
        ("description", 30, 30),
        ("images", 20, 20),
        ("attributes", 20, 20),
    ]


def test_an_empty_listing_is_e_with_fixes_most_valuable_first():
    result = score_listing(empty("ebay_de"))

    assert (result.score, result.grade) == (21, "E")  # only the title part: 21.45 of 30
    assert result.fixes == [
        "no description: write 300+ characters on the brand, model and features (+30 points)",
        "no image: every marketplace needs 1, 5+ recommended (+20 points)",
        "title 5 characters, 50-80 recommended on eBay.de: name more features (+8.6 points)",
        "no EAN: eBay asks for one on branded products (+6 points)",
        "0 specifications, 5+ recommended (colour, size, material…) (+5 points)",
        # equal points: in the order of their text
        "no brand: give the manufacturer's brand (+3 points)",
        "no category: give its full path, 2 levels or more (+3 points)",
        "no model: give the manufacturer's model number (MPN) (+3 points)",
    ]
    assert [p.checks for p in result.parts[1:3]] == [["no description"], ["no image"]]


def test_the_same_94_character_title_is_cut_on_ebay_but_not_on_amazon():
    ebay = score_listing(perfect("ebay_de", title=fit_title(TITLE_94, "ebay_de").text, clean_title=TITLE_94))
    amazon = score_listing(perfect("amazon_de", title=TITLE_94, clean_title=TITLE_94))

    assert ebay.fixes == [
        "title 94 characters, eBay.de shows 80: shorten it so nothing is cut (+6 points)",
    ]
    assert ebay.score == 94
    # On Amazon 94 characters are in the best range (80-150) and nothing is cut.
    assert (amazon.score, amazon.fixes) == (100, [])
    assert amazon.parts[0].checks[:3] == [
        "title 94 of 200 characters",
        "passes Amazon.de title rules",
        "nothing cut: the clean title fits 200 characters",
    ]


def test_a_short_title_is_judged_by_each_marketplace_range():
    title = "Sony WH-1000XM4 Bluetooth Kopfhörer mit Noise Cancelling, schwarz"  # 65
    ebay = score_listing(perfect("ebay_de", title=title, clean_title=title))
    amazon = score_listing(perfect("amazon_de", title=title, clean_title=title))

    assert (ebay.score, ebay.fixes) == (100, [])
    assert amazon.fixes == ["title 65 characters, 80-150 best on Amazon.de: add features (+2.3 points)"]


def test_the_score_rounds_half_up():
    title = "WH-1000XM4 Bluetooth Kopfhörer kabellos mit Noise Cancelling, schwarz"  # brand left out: -4.5
    result = score_listing(perfect(title=title, clean_title=title))

    assert result.parts[0].points == 25.5
    assert result.score == 96  # 95.5


@pytest.mark.parametrize(
    "weights",
    [
        ScoreWeights(1, 1, 1, 1),
        ScoreWeights(title=70, description=20, images=7, attributes=3),
        ScoreWeights(title=1000, description=0, images=0, attributes=0),
        ScoreWeights(title=0, description=0, images=3, attributes=0),
    ],
)
def test_any_weights_keep_the_score_0_to_100(weights):
    assert score_listing(perfect(), weights).score == 100
    assert 0 <= score_listing(empty(), weights).score <= 100
    assert sum(part.max_points for part in score_listing(empty(), weights).parts) == pytest.approx(100)


def test_weights_scale_each_part_and_its_fixes():
    weights = ScoreWeights(title=1, description=1, images=1, attributes=1)  # 25 points each
    result = score_listing(perfect(images=()), weights)

    assert [p.max_points for p in result.parts] == [25, 25, 25, 25]
    assert result.score == 75
    assert result.fixes == ["no image: every marketplace needs 1, 5+ recommended (+25 points)"]


def test_a_part_that_weighs_nothing_gives_no_fixes():
    result = score_listing(perfect(images=()), ScoreWeights(images=0))

    assert (result.score, result.fixes) == (100, [])
    assert result.parts[2] == PartScore("images", 0, 0, ["no image"])


def test_an_unknown_marketplace_fails_as_rules_for_does():
    with pytest.raises(KeyError, match="unknown marketplace 'otto_de'; known: amazon_de"):
        score_listing(perfect("otto_de"))


def test_to_json_is_plain_json():
    result = score_listing(perfect(images=()))

    data = json.loads(json.dumps(result.to_json()))

    assert data["score"] == 80
    assert data["grade"] == "B"
    assert data["fixes"] == ["no image: every marketplace needs 1, 5+ recommended (+20 points)"]
    assert data["parts"][2] == {"name": "images", "points": 0, "max_points": 20, "checks": ["no image"]}
    assert [part["name"] for part in data["parts"]] == ["title", "description", "images", "attributes"]


def test_a_result_is_a_value():
    assert score_listing(perfect()) == QualityScore(100, "A", score_listing(perfect()).parts, [])


@pytest.mark.parametrize("marketplace", sorted(MARKETPLACES))
def test_every_marketplace_has_targets_within_its_title_limit(marketplace):
    targets = TARGETS[marketplace]
    (low, high), (best_low, best_high) = targets.title_good, targets.title_best

    assert 0 < low <= best_low < best_high <= high <= rules_for(marketplace).max_title_length
    assert targets.missing_ean.startswith("no EAN: ")


def test_targets_name_no_marketplace_that_does_not_exist():
    assert set(TARGETS) == set(MARKETPLACES)

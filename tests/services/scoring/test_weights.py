"""Score weights: whole numbers, not negative, not all zero; unknown keys are refused."""

from __future__ import annotations

import pytest

from services.scoring import DEFAULT_WEIGHTS, InvalidWeights, ScoreWeights


def test_the_defaults_add_up_to_100():
    assert ScoreWeights(title=30, description=30, images=20, attributes=20) == DEFAULT_WEIGHTS


def test_weights_from_settings_keep_the_defaults_they_do_not_name():
    assert ScoreWeights.from_mapping({}) == DEFAULT_WEIGHTS
    assert ScoreWeights.from_mapping({"title": 50, "images": 0}) == ScoreWeights(50, 30, 0, 20)


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({"title": 0, "description": 0, "images": 0, "attributes": 0},
         ["the weights must not all be zero: the score is scaled by their total"]),
        ({"title": -1, "images": -5},
         ["title must not be negative, got -1", "images must not be negative, got -5"]),
        ({"title": 2.5}, ["title must be a whole number, got 2.5"]),
        ({"title": "30"}, ["title must be a whole number, got '30'"]),
        ({"title": True}, ["title must be a whole number, got True"]),
        ({"price": 10, "title": -1},
         ["unknown weight 'price': use title, description, images, attributes",
          "title must not be negative, got -1"]),
    ],
)  # fmt: skip
def test_unusable_weights_are_refused_naming_every_problem(values, problems):
    with pytest.raises(InvalidWeights) as refused:
        ScoreWeights.from_mapping(values)

    assert refused.value.problems == problems
    assert str(refused.value) == f"score weights are not valid: {'; '.join(problems)}"


def test_the_constructor_refuses_them_too():
    with pytest.raises(InvalidWeights, match="the weights must not all be zero"):
        ScoreWeights(0, 0, 0, 0)
    with pytest.raises(InvalidWeights, match="description must not be negative, got -3"):
        ScoreWeights(description=-3)


def test_invalid_weights_are_a_value_error():
    assert issubclass(InvalidWeights, ValueError)

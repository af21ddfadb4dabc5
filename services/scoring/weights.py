"""How much each part of a listing counts: title, description, images, attributes.

Rules (ScoreWeights refuses anything else, naming every problem at once):

* Each weight is a whole number, never negative (a bool is not a number here).
* They do not all weigh zero: the total is what the score is scaled by.
* Only relative sizes matter: a part's maximum is 100 × weight / total, so the score stays 0-100
  whatever the weights add up to. The defaults (30, 30, 20, 20) add up to 100.
* ``from_mapping`` reads them from settings or JSON: a missing key keeps its default, an unknown key
  is refused (a typo must not silently leave a weight at its default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

PARTS = ("title", "description", "images", "attributes")


class InvalidWeights(ValueError):
    """The weights cannot score anything; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"score weights are not valid: {'; '.join(problems)}")


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    title: int = 30
    description: int = 30
    images: int = 20
    attributes: int = 20

    def __post_init__(self) -> None:
        if problems := _problems({name: getattr(self, name) for name in PARTS}):
            raise InvalidWeights(problems)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> ScoreWeights:
        """Weights from settings or JSON; unknown keys and bad values are refused together."""
        known = ", ".join(PARTS)
        problems = [f"unknown weight {key!r}: use {known}" for key in values if key not in PARTS]
        given = {field.name: values.get(field.name, field.default) for field in fields(cls)}
        problems += _problems(given)
        if problems:
            raise InvalidWeights(problems)
        return cls(**{name: value for name, value in given.items() if isinstance(value, int)})

    def points_per_share(self) -> tuple[float, float, float, float]:
        """What one share of 100 of each part is worth in the score, in the order of PARTS."""
        total = self.title + self.description + self.images + self.attributes
        return (self.title / total, self.description / total, self.images / total, self.attributes / total)


def _problems(values: Mapping[str, object]) -> list[str]:
    problems = []
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{name} must be a whole number, got {value!r}")
        elif value < 0:
            problems.append(f"{name} must not be negative, got {value}")
    numbers = [value for value in values.values() if isinstance(value, int) and not isinstance(value, bool)]
    if len(numbers) == len(values) and not problems and sum(numbers) == 0:
        problems.append("the weights must not all be zero: the score is scaled by their total")
    return problems


DEFAULT_WEIGHTS = ScoreWeights()

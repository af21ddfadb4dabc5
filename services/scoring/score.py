"""Score one listing: quality 0-100 for one product on one marketplace, and what would raise it.

Rules (the criteria of each part are in services.scoring.parts, the ranges in targets):

1. Four parts: title, description, images, attributes. A part's maximum is 100 × its weight / the
   total of the weights (30, 30, 20, 20 by default), so the score is 0-100 whatever the weights.
2. Each part is a list of criteria whose shares add up to the part's maximum; each earns a fraction
   of its share. A perfect listing scores exactly 100.
3. The score is the sum of the points earned, rounded half up (89.5 is 90). Grades: A from 90,
   B from 80, C from 70, D from 60, else E.
4. Fixes: one for each criterion not fully met, saying what was found and what is recommended, with
   the points that change alone would gain ("2 images, 5+ recommended (+6 points)"); most points
   first, then by text. A fix that would gain less than 0.05 points is left out.
5. An unknown marketplace raises KeyError, as rules_for does. The same facts always give the same
   score.
6. A copy detected in another language than the marketplace's (facts.wrong_language) keeps half of
   what its title and description parts earned; the other half is a fix: the copy in the right
   language. A copy whose language cannot be told loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import floor
from typing import Any

from services.marketplaces import language_name, rules_for
from services.scoring.facts import ListingFacts
from services.scoring.parts import Tally, attributes_part, description_part, images_part, title_part
from services.scoring.targets import TARGETS
from services.scoring.weights import DEFAULT_WEIGHTS, ScoreWeights

# Half up: floor(x + _HALF). A value within float noise below a half counts as the half, so
# 0.3 × 28.5 points (8.549999…) show as 8.6 and 95.5 points score 96. round() rounds ties to even.
_HALF = 0.5 + 1e-6


@dataclass(frozen=True, slots=True)
class PartScore:
    name: str  # "title" | "description" | "images" | "attributes"
    points: float  # earned, of max_points (rounded to 2 places; the score sums the unrounded points)
    max_points: float
    checks: list[str]  # what was checked and found, seller-readable ("title 62 of 80 characters")

    def to_json(self) -> dict[str, Any]:
        checks = list(self.checks)
        return {"name": self.name, "points": self.points, "max_points": self.max_points, "checks": checks}


@dataclass(frozen=True, slots=True)
class QualityScore:
    score: int  # 0-100
    grade: str  # A-E, see grade_for
    parts: list[PartScore]
    fixes: list[str]  # what would raise the score, most valuable first, with the points each gains

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, for a jsonb column or the explain endpoint."""
        return {
            "score": self.score,
            "grade": self.grade,
            "parts": [part.to_json() for part in self.parts],
            "fixes": list(self.fixes),
        }


def grade_for(score: int) -> str:
    """A from 90, B from 80, C from 70, D from 60, else E."""
    if not 0 <= score <= 100:
        raise ValueError(f"a score is 0-100, got {score}")
    if score >= 80:
        return "A" if score >= 90 else "B"
    if score >= 60:
        return "C" if score >= 70 else "D"
    return "E"


def score_listing(facts: ListingFacts, weights: ScoreWeights = DEFAULT_WEIGHTS) -> QualityScore:
    """The listing's quality score, its parts and the fixes that would raise it (module docstring)."""
    rules = rules_for(facts.marketplace)
    targets = TARGETS[facts.marketplace]
    tallies: tuple[Tally, ...] = (
        title_part(facts, rules, targets),
        description_part(facts),
        images_part(facts, rules, targets),
        attributes_part(facts, targets),
    )
    if facts.wrong_language:
        tallies = tuple(_in_wrong_language(tally, facts, rules.name) for tally in tallies)
    parts = []
    fixes: list[tuple[int, str]] = []  # (minus the tenths of a point the fix gains, fix): sorts as shown
    total = 0.0
    for tally, (per_share, max_points) in zip(tallies, _scales(weights), strict=True):
        points = tally.earned * per_share
        total += points
        parts.append(PartScore(tally.name, floor(points * 100 + _HALF) / 100, max_points, tally.checks))
        for gain, fix in tally.fixes:
            if tenths := floor(gain * per_share * 10 + _HALF):
                fixes.append((-tenths, fix))
    score = min(100, max(0, floor(total + _HALF)))
    # By the points as shown, so two fixes a seller sees as equal come in the order of their text.
    fixes.sort()
    return QualityScore(
        score, grade_for(score), parts, [f"{fix} ({_points(-tenths)})" for tenths, fix in fixes]
    )


_COPY_PARTS = frozenset({"title", "description"})


def _in_wrong_language(tally: Tally, facts: ListingFacts, marketplace_name: str) -> Tally:
    """Rule 6: half of a copy part's points, the other half a fix."""
    if tally.name not in _COPY_PARTS:
        return tally
    lost = tally.earned / 2
    copy, wanted = language_name(facts.copy_language or ""), language_name(facts.expected_language or "")
    problem = f"{tally.name} in {copy}, {marketplace_name} lists in {wanted}"
    return Tally(
        tally.name,
        tally.earned - lost,
        [*tally.checks, problem],
        [*tally.fixes, (lost, f"{problem}: write it in {wanted}")],
    )


@lru_cache(maxsize=64)  # settings hold a few weightings: each is worked out once
def _scales(weights: ScoreWeights) -> tuple[tuple[float, float], ...]:
    """For each part: what one share of 100 earns in the score (weight / total), and its maximum."""
    return tuple((share, floor(100 * share * 100 + _HALF) / 100) for share in weights.points_per_share())


def _points(tenths: int) -> str:
    """A fix's gain given in tenths of a point, as a seller reads it: "+6 points", "+2.3 points"."""
    whole, tenth = divmod(tenths, 10)
    if tenth:
        return f"+{whole}.{tenth} points"
    return "+1 point" if whole == 1 else f"+{whole} points"

"""Listing quality (scoring): a score 0-100 per product and marketplace, its parts and the fixes that
raise it. Imports normalize and marketplaces.

Pure functions: no I/O, no database; the same facts always give the same score. Each module's
docstring states its rules: score (the arithmetic, grades and fixes), parts (the criteria of the
title, description, images and attributes), targets (the one table of good ranges per marketplace),
weights (what the parts weigh) and facts (what is scored, read from a normalized product).

Speed, measured with timeit on the factory products of tests/support/factories.py (a 40-character title,
a 600-character description, 5 images, 10 attributes) on the 2-core VM where sum(range(100)) takes
1.0 µs and normalize_product about 260 µs: score_listing takes about 42 µs when a product's three
marketplaces are scored one after the other (the description part is worked out once per product),
about 50 µs when no two calls share a description. check_title is about a quarter of it (up to
20 µs on a long Amazon title, which it checks for repeated words). 10,000 products × 3 marketplaces:
about 1.3 s.
"""

from services.scoring.facts import ListingFacts, facts_from_normalized
from services.scoring.score import PartScore, QualityScore, grade_for, score_listing
from services.scoring.targets import TARGETS, Targets
from services.scoring.weights import DEFAULT_WEIGHTS, InvalidWeights, ScoreWeights

__all__ = [
    "DEFAULT_WEIGHTS",
    "TARGETS",
    "InvalidWeights",
    "ListingFacts",
    "PartScore",
    "QualityScore",
    "ScoreWeights",
    "Targets",
    "facts_from_normalized",
    "grade_for",
    "score_listing",
]

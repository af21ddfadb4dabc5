"""The pipeline's stages, in order. An item's `stage` is the stage it is in (or failed at)."""

from __future__ import annotations

IMPORT = "import"
NORMALIZE = "normalize"
PRICE = "price"
SCORE = "score"
PUBLISH = "publish"

ORDER = (IMPORT, NORMALIZE, PRICE, SCORE, PUBLISH)
INDEX = {stage: position for position, stage in enumerate(ORDER)}

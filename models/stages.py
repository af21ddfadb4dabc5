"""The pipeline's stages, in order. An item's `stage` is the stage it is in (or failed at)."""

from __future__ import annotations

IMPORT = "import"
NORMALIZE = "normalize"
PRICE = "price"
SCORE = "score"
PUBLISH = "publish"

ORDER = (IMPORT, NORMALIZE, PRICE, SCORE, PUBLISH)
INDEX = {stage: position for position, stage in enumerate(ORDER)}

# The stages every job runs. Publishing joins when a job asks for it, once it is built.
PIPELINE = (IMPORT, NORMALIZE, PRICE, SCORE)


def next_stage(stage: str) -> str | None:
    """The stage after `stage` in the pipeline; None after the last."""
    position = PIPELINE.index(stage) + 1
    return PIPELINE[position] if position < len(PIPELINE) else None

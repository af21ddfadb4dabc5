"""The pipeline's stages, in order. An item's `stage` is the stage it is in (or failed at)."""

from __future__ import annotations

IMPORT = "import"
NORMALIZE = "normalize"
OPTIMIZE = "optimize"  # normalize's AI step: the model's copy, for jobs that optimize
PRICE = "price"
SCORE = "score"
PUBLISH = "publish"

ORDER = (IMPORT, NORMALIZE, OPTIMIZE, PRICE, SCORE, PUBLISH)
INDEX = {stage: position for position, stage in enumerate(ORDER)}

# The stages every job runs. Publishing joins when a job asks for it, once it is built.
PIPELINE = (IMPORT, NORMALIZE, OPTIMIZE, PRICE, SCORE)


def next_stage(stage: str, *, optimize: bool = True) -> str | None:
    """The stage after `stage` in the pipeline; None after the last. A job that does not optimize
    goes from normalize straight to price (its items count as past optimize all the same)."""
    position = PIPELINE.index(stage) + 1
    following = PIPELINE[position] if position < len(PIPELINE) else None
    return next_stage(OPTIMIZE) if following == OPTIMIZE and not optimize else following

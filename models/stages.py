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

# The stages every job runs; publish joins when the job asks (`options.publish`).
PIPELINE = (IMPORT, NORMALIZE, OPTIMIZE, PRICE, SCORE)
PUBLISHING = (*PIPELINE, PUBLISH)


def stages_of(*, publish: bool) -> tuple[str, ...]:
    return PUBLISHING if publish else PIPELINE


def next_stage(stage: str, *, optimize: bool = True, publish: bool = False) -> str | None:
    """The stage after `stage` in the job's pipeline; None after the last. A job that does not
    optimize goes from normalize straight to price (its items count as past optimize all the same)."""
    order = stages_of(publish=publish)
    position = order.index(stage) + 1
    following = order[position] if position < len(order) else None
    if following == OPTIMIZE and not optimize:
        return next_stage(OPTIMIZE, publish=publish)
    return following

"""The seed's single-product import (pipeline): one product accepted and imported within the request,
as the seed did; normalize, price and score follow in the workers.

Here rather than in services.imports because it runs the import stage: the imports package (the
envelope, the product model, accepting a delivery) stays below the pipeline that uses it. Never
commits: the caller commits, then sends the next stage's message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from models import stages
from schemas.imports import JobError
from services.imports.envelope import ImportRequest
from services.imports.intake import accept_import, split_body
from services.pipeline import jobs
from services.pipeline.stages.import_ import import_chunk


@dataclass(frozen=True, slots=True)
class ImportedProduct:
    job_id: uuid.UUID
    product_id: int | None
    outcome: str | None  # created / updated / unchanged
    finished: bool  # the job ended with the import
    next_stage: str | None  # the stage to send the product to once the caller has committed
    errors: list[JobError] = field(default_factory=list)  # the product's problems, when it was invalid


def import_product(
    session: Session, request: ImportRequest, *, body_sha256: str, body_bytes: int
) -> ImportedProduct:
    """Store the delivery as a one-product job and import it now. UnknownPricingProfile as
    accept_import raises it."""
    accepted = accept_import(session, request, body_sha256=body_sha256, body_bytes=body_bytes, chunk_size=1)
    split_body(session, accepted.job_id)  # its one chunk, now rather than in a worker
    following = stages.next_stage(stages.IMPORT)
    result = import_chunk(session, accepted.job_id, 0, next_stage=following)
    finished = jobs.finish_if_done(session, accepted.job_id) is not None
    errors = jobs.job_view(session, accepted.job_id).errors if result.failed else []
    return ImportedProduct(
        job_id=accepted.job_id,
        product_id=result.product_ids[0] if result.product_ids else None,
        outcome=next(iter(result.outcomes), None),
        finished=finished,
        next_stage=following if result.imported else None,
        errors=errors,
    )

"""The seed's AI routes: a product's copy now (`optimize`, `optimize-title`, `optimize-description`),
or many products' as a job to poll (`batch-optimize`). Thin glue around services.pipeline.on_demand_copy."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy.orm import Session

from api.auth import AUTH_RESPONSES, ApiKeyAccess
from api.deps import SessionDep, SettingsDep
from api.marketplace_param import TargetMarketplace, target_marketplace
from api.routes.imports import status_url
from api.routes.products import ProductId
from models import stages
from schemas.ai import BatchOptimizeIn, CopyRead, OptimizedDescription, OptimizedProduct, OptimizedTitle
from schemas.imports import ImportAccepted
from services.ai import Copywriter
from services.ai.factory import build_copywriter
from services.marketplaces import check_languages
from services.normalize.extract import known_brands
from services.pipeline import jobs, on_demand_copy
from services.pipeline.stages.optimize import NO_KEY, CopySettings
from services.platform.settings import Settings, get_settings
from services.products import views as explanations
from workers.broker import broker
from workers.messages import send_stage

# GETs need a read key, every other method a write key (api/auth.py).
router = APIRouter(prefix="/api/ai", tags=["ai"], dependencies=[ApiKeyAccess], responses=AUTH_RESPONSES)
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such product"},
    409: {"description": "The product is not normalized yet (its import is still running)"},
    422: {"description": "Unknown marketplace"},
}


@lru_cache(maxsize=1)
def _copywriter() -> Copywriter | None:
    settings = get_settings()  # one product at a time: the main model, not the bulk one
    return build_copywriter(settings, broker.client, model=settings.groq_model)


def route_copywriter() -> Copywriter | None:
    return _copywriter()


CopywriterDep = Annotated[Copywriter | None, Depends(route_copywriter)]


@router.post("/optimize/{product_id}", response_model=OptimizedProduct, responses=RESPONSES)
def optimize(
    product_id: ProductId,
    session: SessionDep,
    settings: SettingsDep,
    copywriter: CopywriterDep,
    target_marketplace: TargetMarketplace = "amazon_de",
) -> OptimizedProduct:
    """The product's title and description for the marketplace, written by the model (within
    `AI_REQUEST_TIMEOUT_SECONDS`) and stored on its listing; the product as `GET /api/products/{id}`."""
    copy = _optimize(session, settings, copywriter, product_id, target_marketplace)
    detail = explanations.product_detail(session, product_id)
    assert detail is not None  # just read and written
    return OptimizedProduct(**detail.model_dump(), ai=_copy_read(copy))


@router.post("/optimize-title/{product_id}", response_model=OptimizedTitle, responses=RESPONSES)
def optimize_title(
    product_id: ProductId,
    session: SessionDep,
    settings: SettingsDep,
    copywriter: CopywriterDep,
    target_marketplace: TargetMarketplace = "amazon_de",
) -> OptimizedTitle:
    """As `optimize`, answering the title (the description is written and stored too: one request)."""
    copy = _optimize(session, settings, copywriter, product_id, target_marketplace)
    return OptimizedTitle(
        product_id=product_id,
        original_title=copy.original_title,
        optimized_title=copy.title,
        marketplace=copy.marketplace,
        ai=_copy_read(copy),
    )


@router.post("/optimize-description/{product_id}", response_model=OptimizedDescription, responses=RESPONSES)
def optimize_description(
    product_id: ProductId,
    session: SessionDep,
    settings: SettingsDep,
    copywriter: CopywriterDep,
    target_marketplace: TargetMarketplace = "amazon_de",
) -> OptimizedDescription:
    """As `optimize`, answering the description (the title is written and stored too: one request)."""
    copy = _optimize(session, settings, copywriter, product_id, target_marketplace)
    return OptimizedDescription(
        product_id=product_id,
        original_description=copy.original_description,
        optimized_description=copy.description_html,
        marketplace=copy.marketplace,
        ai=_copy_read(copy),
    )


@router.post("/batch-optimize", status_code=202, response_model=ImportAccepted, responses={422: {}})
def batch_optimize(body: BatchOptimizeIn, session: SessionDep) -> ImportAccepted:
    """A job that writes the products' copy for the marketplace in the workers (then prices and scores
    them again); poll it at `status_url`. Ids that name no product fail alone, in the job's errors."""
    marketplace = target_marketplace(body.target_marketplace)
    job = on_demand_copy.start_optimize_job(session, body.product_ids, marketplace)
    for number in job.chunks:
        send_stage(session, stages.OPTIMIZE, str(job.job_id), number)
    job_status = jobs.finish_if_done(session, job.job_id)  # every id unknown: done already
    session.commit()
    return ImportAccepted(
        job_id=job.job_id,
        status=job_status or "pending",
        status_url=status_url(job.job_id),
        received=job.received,
    )


def _copy_read(copy: on_demand_copy.ProductCopy) -> CopyRead:
    return CopyRead(
        marketplace=copy.marketplace,
        title=copy.title,
        description_html=copy.description_html,
        ai_status=copy.ai_status,
        ai_reason=copy.reason,
        grounding=copy.grounding,
        prompt_tokens=copy.prompt_tokens,
        completion_tokens=copy.completion_tokens,
        source=copy.source,
    )


def _optimize(
    session: Session, settings: Settings, copywriter: Copywriter | None, product_id: int, target: str
) -> on_demand_copy.ProductCopy:
    marketplace = target_marketplace(target)
    try:
        copy = on_demand_copy.optimize_product(
            session,
            product_id,
            marketplace,
            copywriter=copywriter,
            copy=CopySettings(
                model=settings.groq_model,
                prompt_version=settings.ai_prompt_version,
                languages=check_languages(settings.marketplace_languages),
                refusal_cache_hours=settings.ai_refusal_cache_hours,
                brands=known_brands(settings.extra_brands),
            ),
            timeout_seconds=settings.ai_request_timeout_seconds,
            deterministic_reason=NO_KEY,
        )
    except on_demand_copy.ProductNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found") from None
    except on_demand_copy.ProductNotNormalized:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"product {product_id} is not normalized yet: its import job is still running; try again soon",
        ) from None
    session.commit()
    return copy

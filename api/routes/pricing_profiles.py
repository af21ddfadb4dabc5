"""Pricing profile routes: list, create, read, change, delete, and choosing the default."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn, cast

from fastapi import APIRouter, HTTPException, Path, Response, status

from api.auth import AUTH_RESPONSES, ApiKeyAccess
from api.deps import SessionDep
from api.problems import unprocessable
from schemas.pricing_profiles import PricingProfileCreate, PricingProfileRead, PricingProfileUpdate
from services.pricing import store as pricing_store
from services.pricing.store import (
    DefaultProfileRequired,
    InvalidProfileValues,
    ProfileFields,
    ProfileNameTaken,
    ProfileNotFound,
)

# GETs need a read key, every other method a write key (api/auth.py).
router = APIRouter(
    prefix="/api/pricing-profiles", tags=["pricing"], dependencies=[ApiKeyAccess], responses=AUTH_RESPONSES
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such pricing profile"}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Not a usable profile: every problem, each with the field it is about"}
}
ProfileId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The profile's id")]  # an integer column
NAME_TAKEN: dict[int | str, dict[str, Any]] = {409: {"description": "The name is taken"}}


def _refuse(exc: Exception) -> NoReturn:
    """The HTTP answer for a pricing_store error."""
    if isinstance(exc, ProfileNotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, exc.message) from None
    if isinstance(exc, ProfileNameTaken | DefaultProfileRequired):
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if isinstance(exc, InvalidProfileValues):
        raise unprocessable(exc.problems) from None
    raise exc


@router.get("", response_model=list[PricingProfileRead])
def list_profiles(session: SessionDep) -> list[PricingProfileRead]:
    """Every profile: the default first, then by name."""
    return [pricing_store.profile_read(row) for row in pricing_store.list_profiles(session)]


@router.post(
    "",
    response_model=PricingProfileRead,
    status_code=status.HTTP_201_CREATED,
    responses={**INVALID, **NAME_TAKEN},
)
def create_profile(body: PricingProfileCreate, session: SessionDep) -> PricingProfileRead:
    try:
        row = pricing_store.create_profile(session, cast(ProfileFields, body.model_dump()))
    except (InvalidProfileValues, ProfileNameTaken) as exc:
        _refuse(exc)
    answer = pricing_store.profile_read(row)
    session.commit()
    return answer


@router.get("/{profile_id}", response_model=PricingProfileRead, responses=NOT_FOUND)
def get_profile(profile_id: ProfileId, session: SessionDep) -> PricingProfileRead:
    try:
        return pricing_store.profile_read(pricing_store.get_profile(session, profile_id))
    except ProfileNotFound as exc:
        _refuse(exc)


@router.patch(
    "/{profile_id}",
    response_model=PricingProfileRead,
    responses={**NOT_FOUND, **INVALID, **NAME_TAKEN},
)
def update_profile(
    profile_id: ProfileId, body: PricingProfileUpdate, session: SessionDep
) -> PricingProfileRead:
    """Change the fields sent; `is_default: true` makes it the default."""
    changes = cast(ProfileFields, body.model_dump(exclude_unset=True))
    try:
        row = pricing_store.update_profile(session, profile_id, changes)
    except (ProfileNotFound, InvalidProfileValues, ProfileNameTaken, DefaultProfileRequired) as exc:
        _refuse(exc)
    answer = pricing_store.profile_read(row)
    session.commit()
    return answer


@router.delete(
    "/{profile_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**NOT_FOUND, 409: {"description": "The default profile cannot be deleted"}},
)
def delete_profile(profile_id: ProfileId, session: SessionDep) -> Response:
    try:
        pricing_store.delete_profile(session, profile_id)
    except (ProfileNotFound, DefaultProfileRequired) as exc:
        _refuse(exc)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{profile_id}/default", response_model=PricingProfileRead, responses=NOT_FOUND)
def make_default(profile_id: ProfileId, session: SessionDep) -> PricingProfileRead:
    """Make it the default profile; the old default stops being one."""
    try:
        row = pricing_store.set_default(session, profile_id)
    except ProfileNotFound as exc:
        _refuse(exc)
    answer = pricing_store.profile_read(row)
    session.commit()
    return answer

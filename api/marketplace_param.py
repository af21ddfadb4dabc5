"""A marketplace named in a request: our id (amazon_de) or the seed's name (amazon)."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query, status

from services.marketplaces import resolve_marketplace

TargetMarketplace = Annotated[
    str, Query(max_length=32, description="A marketplace id (amazon_de) or the seed's name (amazon)")
]


def target_marketplace(name: str) -> str:
    """The marketplace id `name` means; a 422 naming the known ones otherwise."""
    try:
        return resolve_marketplace(name)
    except KeyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.args[0]) from None

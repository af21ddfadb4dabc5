"""Request dependencies: the database session, the settings, webhook authentication."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status
from sqlalchemy.orm import Session

from models.db import get_sessionmaker
from services.settings import Settings, get_settings


def get_session() -> Iterator[Session]:
    """One session per request. Routes commit explicitly, before they answer: a commit that
    failed after the response went out would have told the client its data was safe."""
    with get_sessionmaker()() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def verify_webhook_secret(
    settings: SettingsDep,
    x_webhook_secret: Annotated[str | None, Header(description="The shared webhook secret")] = None,
) -> None:
    if x_webhook_secret is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing X-Webhook-Secret header")
    # Constant time: a timing difference must not reveal how much of a guess was right.
    if not hmac.compare_digest(x_webhook_secret.encode(), settings.webhook_secret.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid webhook secret")


WebhookAuth = Depends(verify_webhook_secret)

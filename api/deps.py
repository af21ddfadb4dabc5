"""Request dependencies: the database session and the settings (authentication: api/auth.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from services.platform.db import get_sessionmaker
from services.platform.settings import Settings, get_settings


def get_session() -> Iterator[Session]:
    """One session per request. Routes commit explicitly, before they answer: a commit that
    failed after the response went out would have told the client its data was safe."""
    with get_sessionmaker()() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

"""An app of its own for tests that need other settings than the suite's (rate limits, CORS...)."""

from __future__ import annotations

import logging

import pytest
import structlog


@pytest.fixture
def make_app(db_session, redis_client):
    """`make_app(**settings)`: a new app on the test's rolled-back session, with the suite's settings
    changed as given. create_app configures logging; the suite's logging is restored after."""
    from api.app import create_app
    from api.deps import get_session
    from services.platform.settings import get_settings

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())

    def make(**changes):
        app = create_app(get_settings().model_copy(update=changes))
        app.dependency_overrides[get_session] = lambda: db_session
        return app

    yield make
    root.handlers[:], level, config = saved
    root.setLevel(level)
    structlog.configure(**config)

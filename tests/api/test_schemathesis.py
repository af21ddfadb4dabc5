"""Schemathesis against the OpenAPI schema, in-process: no input the schema allows may cause a 5xx,
and every answer matches the schema the document gives for its status (422s included).

Bounded and deterministic: a fixed seed, a few examples per operation, no coverage or stateful phase.
Authenticated with the suite's bootstrap API key (write scope) and the webhook's secret; each
operation's examples run on one rolled-back database session. The import routes document their body
(schemas.imports), so their products are generated too.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import app
from api.deps import get_session
from tests.support.api import AUTH

HEADERS = {**AUTH, "X-Webhook-Secret": "test-secret"}
EXAMPLES_PER_OPERATION = 15
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261206,
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


# Loaded when the module is collected (the suite's settings are in the environment by then):
# schemathesis.pytest.from_fixture does not work with pytest 9.
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


@pytest.fixture
def on_test_session(db_session, redis_client):
    app.dependency_overrides[get_session] = lambda: db_session
    yield
    app.dependency_overrides.clear()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_the_schema_allows_is_a_server_error_and_answers_match_the_document(case, on_test_session):
    case.call_and_validate(headers=HEADERS, checks=[not_a_server_error, response_schema_conformance])

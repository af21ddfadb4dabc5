"""The credentials of the suite's in-process API (tests/conftest.py starts it with these settings)."""

from __future__ import annotations

# The bootstrap key (API_KEY) of the suite's settings: `client` sends it, `anonymous_client` does not.
API_KEY = "test-api-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

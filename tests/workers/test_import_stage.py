"""The actors' own logic: why a job or a chunk gave up, in words safe to show a client."""

from __future__ import annotations

from workers.finish import gave_up_reason


def test_the_reason_names_the_attempts_and_the_error_type_not_its_text():
    message = {
        "args": ["job"],
        "options": {
            "traceback": "Traceback (most recent call last):\n  ...\npsycopg.OperationalError: "
            'connection to server at "10.0.0.1" failed: SELECT secret FROM users'
        },
    }
    reason = gave_up_reason("import failed", message, {"retries": 8})
    assert reason == "import failed after 8 attempts (OperationalError); see the worker's log"
    assert "SELECT" not in reason


def test_without_a_traceback():
    assert gave_up_reason("import failed", {"args": []}, {}) == (
        "import failed after ? attempts (an error); see the worker's log"
    )

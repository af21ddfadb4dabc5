"""A 422 answer in FastAPI's own shape for problems a service found in a request's values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from fastapi import HTTPException, status


class Problem(Protocol):
    @property
    def loc(self) -> Sequence[str | int]: ...

    @property
    def message(self) -> str: ...


def unprocessable(problems: Iterable[Problem]) -> HTTPException:
    """`{"detail": [{"type", "loc": ["body", ...], "msg"}]}`, like FastAPI's validation errors."""
    detail = [
        {"type": "value_error", "loc": ["body", *problem.loc], "msg": problem.message} for problem in problems
    ]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)

"""Query string and path checks every route gets (an app-level dependency).

The rules:
- A query parameter the route does not declare is a 422 naming it and the parameters the route
  accepts: a typo (`?pagesize=50`) must not silently return the default page.
- No query or path value may hold a NUL character (Postgres text cannot): a 422 naming it.
The accepted names come from the route's own declaration (its dependencies included), computed once
per route.
"""

from __future__ import annotations

from fastapi import HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

MAX_REPORTED = 20  # unknown parameters named in one answer
_ACCEPTED = "_listing_query_params"  # the attribute keeping a route's accepted names


def accepted_query_params(route: APIRoute) -> frozenset[str]:
    accepted: frozenset[str] | None = getattr(route, _ACCEPTED, None)
    if accepted is None:
        accepted = _declared_query_params(route)
        setattr(route, _ACCEPTED, accepted)
    return accepted


def _declared_query_params(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(field.alias for field in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


async def check_query_and_path(request: Request) -> None:
    """async: it does no I/O, so it runs without a trip to the thread pool."""
    problems: list[dict[str, object]] = []
    route = request.scope.get("route")
    query = request.query_params
    if isinstance(route, APIRoute) and query:
        accepted = accepted_query_params(route)
        unknown = sorted({name for name in query if name not in accepted})[:MAX_REPORTED]
        if unknown:
            takes = ", ".join(sorted(accepted)) or "none"
            problems.extend(
                {
                    "type": "extra_forbidden",
                    "loc": ["query", name[:100]],
                    "msg": f"unknown query parameter {name[:100]!r}; this route takes: {takes}",
                }
                for name in unknown
            )
    for where, values in (("query", query.multi_items()), ("path", request.path_params.items())):
        problems.extend(
            {
                "type": "string_pattern_mismatch",
                "loc": [where, name[:100]],
                "msg": "must not contain NUL characters",
            }
            for name, value in values
            if isinstance(value, str) and "\x00" in value
        )
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problems)

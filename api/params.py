"""Path and query parameters, judged by the same value types as events
(events/types.py): a bad one is 422 naming it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Depends
from starlette.requests import Request

from api.problems import ApiProblem

T = TypeVar("T")


def only(*names: str) -> Callable[[Request], None]:
    """A route dependency refusing query parameters the route does not read
    (a typo in a filter must not widen a bulk action to everything)."""
    allowed = frozenset(names)

    def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        repeated = sorted(k for k in allowed if len(request.query_params.getlist(k)) > 1)
        if repeated:
            raise ApiProblem(
                422,
                "invalid_request",
                "a query parameter given more than once",
                errors=[{"field": name, "message": "given more than once"} for name in repeated],
            )
        if unknown:
            raise ApiProblem(
                422,
                "invalid_request",
                "unknown query parameter(s)",
                errors=[
                    {"field": name or "(empty)", "message": "unknown parameter"} for name in unknown
                ],
            )

    return check


def valid(field: str, parse: Callable[[str], T], value: str) -> T:
    try:
        return parse(value)
    except ValueError as e:
        raise ApiProblem(
            422,
            "invalid_request",
            f"the {field} given is refused",
            errors=[{"field": field, "message": str(e)}],
        ) from None


NO_PARAMS = Depends(only())

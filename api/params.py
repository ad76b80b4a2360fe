"""Path and query parameters, judged by the same value types as events
(events/types.py): a bad one is 422 naming it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from api.problems import ApiProblem

T = TypeVar("T")


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

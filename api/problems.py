"""Every error is an RFC 9457 problem document, never a stack trace.

``type`` is a URI reference naming the reason (``/problems/invalid_event``;
``GET`` it for a line about what it means), in the same words as the CLI's
refusals and the refusal records (events/reasons.py).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}

# What each reason means, served at /problems/{reason}.
MEANINGS = {
    "invalid_event": "The event does not pass subcycle's rules; each error names its field.",
    "reserved_event_id": "The event id starts with a prefix subcycle derives its own ids with.",
    "event_id_reused": "The event id was used before with another payload.",
    "invalid_request": "The request's parameters or body do not pass the rules; see errors.",
    "unauthorized": "No API key, or one that is unknown or revoked.",
    "forbidden": "The API key's scopes do not allow this.",
    "not_found": "There is nothing at this address.",
    "unknown_subscription": "No subscription has this id.",
    "period_not_closed": "The month has not been closed, or its close is still running.",
    "body_too_large": "The request body is larger than 1 MiB.",
    "unsupported_media_type": "The request body's content type is not one this route reads.",
    "batch_too_large": "A batch holds at most 1,000 events.",
    "redis_unavailable": "Redis cannot be reached; try again after Retry-After seconds.",
    "not_durable": "The events may not have reached the durability asked for; republish them.",
    "method_not_allowed": "This address does not take this method.",
    "csrf_refused": "The console form's CSRF token is missing or wrong.",
    "otp_secret_missing": "No server secret is set: codes can be neither made nor checked.",
    "internal_error": "Something failed inside subcycle; it is logged.",
}


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        reason: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        super().__init__(f"{status} {reason}: {detail}")


def problem(
    status: int,
    reason: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{reason}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def response_of(error: ApiProblem) -> JSONResponse:
    return problem(
        error.status, error.reason, error.detail, errors=error.errors, headers=error.headers
    )


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: each status a problem document."""
    return {
        status: {
            "description": TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "index": {"type": "integer"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

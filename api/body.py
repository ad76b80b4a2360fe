"""Reading a request body: its content type first, then at most 1 MiB, read
as it arrives (a larger body is refused before it is all in memory)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from api.problems import ApiProblem
from events import InvalidEvent, read_json

MAX_BODY = 1024 * 1024
JSON = "application/json"
NDJSON = "application/x-ndjson"


def media_type(request: Request) -> tuple[str, str | None]:
    """The content type without parameters, and its charset if one is given."""
    raw = request.headers.get("content-type", "")
    kind, _, params = raw.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset":
            charset = value.strip().strip('"').lower()
    return kind.strip().lower(), charset


async def read_body(request: Request, accepted: tuple[str, ...] = (JSON,)) -> tuple[bytes, str]:
    """The body (at most ``MAX_BODY`` bytes) and its media type, one of ``accepted``."""
    kind, charset = media_type(request)
    if kind not in accepted or charset not in (None, "utf-8"):
        raise ApiProblem(
            415,
            "unsupported_media_type",
            f"send the body as {' or '.join(accepted)} (UTF-8), not {kind or 'nothing'!r}",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _too_large()
    return bytes(body), kind


def _too_large() -> ApiProblem:
    return ApiProblem(413, "body_too_large", f"the body is larger than {MAX_BODY} bytes (1 MiB)")


M = TypeVar("M", bound=BaseModel)


async def read_model(request: Request, model: type[M]) -> M:
    """A JSON body read strictly (duplicate keys refused) into ``model``."""
    body, _ = await read_body(request, (JSON,))
    try:
        return model.model_validate(read_json(body))
    except InvalidEvent as e:
        errors = [{"field": p.field, "message": p.message} for p in e.problems]
        raise ApiProblem(422, "invalid_request", "the body is not JSON", errors=errors) from None
    except ValidationError as e:
        errors = [
            {"field": ".".join(str(x) for x in err["loc"]) or "body", "message": err["msg"]}
            for err in e.errors()
        ]
        raise ApiProblem(422, "invalid_request", "the body is refused", errors=errors) from None

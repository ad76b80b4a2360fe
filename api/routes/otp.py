"""``POST /v1/otp/verify`` and ``/v1/otp/status``: what the login page asks
while the customer waits. The number travels in the body, never in a URL
or a log line. Input that is not a mobile number or not 6 ASCII digits is
422 and counts no attempt."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from api.auth import Codes
from api.body import read_model
from api.models import NumberStatus, StatusRequest, VerifyOutcome, VerifyRequest
from api.openapi import body_of
from api.params import NO_PARAMS
from api.problems import ApiProblem, documented
from api.services import services
from workers.otp import InvalidInput, parse_code, parse_phone

router = APIRouter(tags=["verification codes"])


@router.post(
    "/v1/otp/verify",
    response_model=VerifyOutcome,
    responses=documented(401, 403, 413, 415, 422, 503),
    openapi_extra=body_of(VerifyRequest),
    summary="Verify the code a customer entered",
    dependencies=[NO_PARAMS],
)
async def verify(request: Request, key: Codes) -> VerifyOutcome:
    asked = await read_model(request, VerifyRequest)
    try:
        phone, code = parse_phone(asked.phone), parse_code(asked.code)
    except InvalidInput as e:
        raise _invalid(e) from None
    found = services(request)
    # Physical time (a code's 10 minutes), from the injected clock.
    now = found.core.clock()
    return VerifyOutcome(outcome=found.codes.verify(phone, code, now))


@router.post(
    "/v1/otp/status",
    response_model=NumberStatus,
    responses=documented(401, 403, 413, 415, 422, 503),
    openapi_extra=body_of(StatusRequest),
    summary="Where a number stands, for the login page",
    dependencies=[NO_PARAMS],
)
async def status(request: Request, key: Codes) -> NumberStatus:
    asked = await read_model(request, StatusRequest)
    try:
        phone = parse_phone(asked.phone)
    except InvalidInput as e:
        raise _invalid(e) from None
    found = services(request)
    now = found.core.clock()
    return NumberStatus(status=found.codes.status(phone, now))


def _invalid(error: InvalidInput) -> ApiProblem:
    field, _, message = str(error).partition(": ")
    return ApiProblem(
        422,
        "invalid_request",
        "the input is refused; no attempt was counted",
        errors=[{"field": field, "message": message}],
    )

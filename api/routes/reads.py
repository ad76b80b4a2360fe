"""What the license page and the carrier's billing read: a subscription's
license data (exactly ``subcycle license ID --json``), and a closed month's
ledger (``subcycle charges --json`` or ``--csv``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from api.auth import ChargesReader, SubscriptionReader
from api.models import ChargeItem, License
from api.params import only, valid
from api.problems import ApiProblem, documented
from api.services import services
from events.reasons import Refusal
from events.types import parse_identifier, parse_period, parse_timestamp
from store.ledger import Charge
from subcycle.views import charge_json, charges_csv, closed_ledger, license_json

router = APIRouter(tags=["license and ledger"])
NOT_CLOSED = 409


@router.get(
    "/v1/subscriptions/{subscription_id}",
    response_model=License,
    responses=documented(401, 403, 404, 422, 503),
    summary="The license information page's data",
    dependencies=[Depends(only("at"))],
)
async def subscription(
    request: Request,
    subscription_id: str,
    key: SubscriptionReader,
    at: Annotated[str | None, Query(description="as it stood at this time (ISO-8601)")] = None,
) -> JSONResponse:
    sid = valid("subscription_id", parse_identifier, subscription_id)
    when: datetime | None = None if at is None else valid("at", parse_timestamp, at)
    found = services(request).core.store.subscriptions.get(sid, when)
    if found is None:
        raise ApiProblem(404, "unknown_subscription", f"no subscription {sid!r}")
    return JSONResponse(license_json(found))


@router.get(
    "/v1/charges",
    response_model=list[ChargeItem],
    responses=documented(401, 403, 409, 422, 503)
    | {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    summary="The ledger of a closed month (JSON, or CSV by Accept: text/csv)",
    dependencies=[Depends(only("period"))],
)
async def charges(
    request: Request,
    period: Annotated[str, Query(description="the billing month, YYYY-MM")],
    key: ChargesReader,
) -> StreamingResponse:
    month = valid("period", parse_period, period)
    ledger = services(request).core.store.ledger
    try:
        every = await run_in_threadpool(closed_ledger, ledger, month)
    except Refusal as e:
        raise ApiProblem(NOT_CLOSED, e.reason, e.detail) from None
    if "text/csv" in request.headers.get("accept", ""):
        return StreamingResponse(
            iterate_in_threadpool(charges_csv(every)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="charges-{month}.csv"'},
        )
    return StreamingResponse(iterate_in_threadpool(_json(every)), media_type="application/json")


def _json(rows: Iterator[Charge]) -> Iterator[str]:
    yield "["
    for i, charge in enumerate(rows):
        yield ("," if i else "") + json.dumps(charge_json(charge), ensure_ascii=False)
    yield "]"

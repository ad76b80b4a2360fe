"""What operators see and do over HTTP, as ``subcycle queues`` and
``subcycle dead-letters`` do (workers/operations.py): bulk actions act only
on the ids or the filter given, and answer how many they touched."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from api.auth import Operator
from api.body import read_model
from api.models import BulkDone, BulkRequest, DeadLetterItem, QueueItem
from api.openapi import body_of
from api.params import NO_PARAMS, only
from api.problems import ApiProblem, documented
from api.services import services
from subcycle.status import queue_depths
from workers import operations
from workers.dead_letters import DeadLetter, DeadLetters
from workers.operations import Bulk, LetterFilter

router = APIRouter(tags=["operators"])
Criterion = Annotated[str, Query(min_length=1, max_length=200)]


@router.get(
    "/v1/queues",
    response_model=list[QueueItem],
    responses=documented(401, 403, 503),
    dependencies=[NO_PARAMS],
)
async def queues(request: Request, key: Operator) -> JSONResponse:
    depths = await run_in_threadpool(queue_depths, services(request).core)
    return JSONResponse([d.to_json() for d in depths])


@router.get(
    "/v1/dead-letters",
    response_model=list[DeadLetterItem],
    responses=documented(401, 403, 422, 503),
    dependencies=[Depends(only("queue", "type", "reason", "event_id", "subscription_id"))],
)
async def dead_letters(
    request: Request,
    key: Operator,
    queue: str = "",
    type: str = "",
    reason: str = "",
    event_id: str = "",
    subscription_id: str = "",
) -> JSONResponse:
    # An empty or missing criterion is no criterion.
    chosen = LetterFilter(
        queue or None, type or None, reason or None, event_id or None, subscription_id or None
    )
    _known_queue(chosen)
    found = await run_in_threadpool(operations.find, services(request).dead_letters, chosen)
    return JSONResponse([d.to_json() for d in found])


@router.post(
    "/v1/dead-letters/retry",
    response_model=BulkDone,
    responses=documented(401, 403, 413, 415, 422, 503),
    openapi_extra=body_of(BulkRequest),
    summary="Retry dead letters by ids, by filter, or all",
    dependencies=[NO_PARAMS],
)
async def retry(request: Request, key: Operator) -> JSONResponse:
    return await _bulk(request, operations.retry)


@router.post(
    "/v1/dead-letters/purge",
    response_model=BulkDone,
    responses=documented(401, 403, 413, 415, 422, 503),
    openapi_extra=body_of(BulkRequest),
    summary="Purge dead letters by ids, by filter, or all",
    dependencies=[NO_PARAMS],
)
async def purge(request: Request, key: Operator) -> JSONResponse:
    return await _bulk(request, operations.purge)


async def _bulk(request: Request, act: operations.Action) -> JSONResponse:
    asked = await read_model(request, BulkRequest)
    letters = services(request).dead_letters
    chosen = await run_in_threadpool(choose, letters, asked)
    done: Bulk = await run_in_threadpool(act, letters, chosen)
    return JSONResponse(
        {"touched": done.touched, "outcomes": dict(done.outcomes), "results": done.results}
    )


def choose(letters: DeadLetters, asked: BulkRequest) -> list[DeadLetter]:
    """Exactly one of: ids (every one must exist), a filter with at least one
    criterion, or ``all``: a bulk action never guesses its scope."""
    given = [asked.ids is not None, asked.filter is not None, asked.all]
    if sum(given) != 1:
        raise ApiProblem(
            422,
            "invalid_request",
            "give exactly one of ids, filter or all: true",
            errors=[{"field": "body", "message": "exactly one of ids, filter, all"}],
        )
    if asked.ids is not None:
        found, unknown = operations.by_ids(letters, asked.ids)
        if unknown:
            raise ApiProblem(
                422,
                "invalid_request",
                "no dead letter has these ids; nothing was done",
                errors=[{"field": "ids", "message": f"unknown: {', '.join(unknown[:20])}"}],
            )
        return found
    if asked.filter is not None:
        chosen = LetterFilter(**asked.filter.model_dump())
        if chosen.empty:
            raise ApiProblem(
                422,
                "invalid_request",
                "an empty filter would touch every dead letter; say all: true for that",
                errors=[{"field": "filter", "message": "needs at least one criterion"}],
            )
        _known_queue(chosen)
        return operations.find(letters, chosen)
    return operations.find(letters, LetterFilter())


def _known_queue(chosen: LetterFilter) -> None:
    if chosen.queue is not None and chosen.queue not in operations.QUEUES:
        raise ApiProblem(
            422,
            "invalid_request",
            "no such queue",
            errors=[{"field": "queue", "message": f"one of {', '.join(operations.QUEUES)}"}],
        )

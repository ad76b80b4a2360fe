"""``POST /v1/events`` and ``/v1/events/batch``: the same edge, the same
publisher and the same words as ``subcycle publish`` (workers/ingest.py)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from api import scopes
from api.auth import Caller
from api.body import JSON, NDJSON, read_body
from api.models import Accepted, BatchAccepted
from api.openapi import EVENT_BODY, EVENTS_BODY
from api.params import NO_PARAMS
from api.problems import ApiProblem, documented
from api.services import services
from events import InvalidEvent, Problem, read_json
from events.reasons import Reason
from store.apikeys import ApiKey
from workers.ingest import ItemProblem, Judged, Refused, judge, publish_all
from workers.publisher import NotDurable, Publisher, PublishResult

router = APIRouter(tags=["events"])
MAX_BATCH = 1_000
ERRORS = documented(401, 403, 409, 413, 415, 422, 503)


@router.post(
    "/v1/events",
    status_code=202,
    response_model=Accepted,
    responses=ERRORS,
    openapi_extra=EVENT_BODY,
    summary="Publish one event",
    dependencies=[NO_PARAMS],
)
async def publish_event(request: Request, key: Caller) -> JSONResponse:
    _publishes_something(key)
    body, _ = await read_body(request, (JSON,))
    judged = judge([(0, body)], _index)
    result = _publish(services(request).publisher, judged, key, True)
    [(_, event)] = judged.events
    status = "accepted" if result.enqueued else "duplicate"
    return JSONResponse({"event_id": event.event_id, "status": status}, status_code=202)


@router.post(
    "/v1/events/batch",
    status_code=202,
    response_model=BatchAccepted,
    responses=ERRORS,
    openapi_extra=EVENTS_BODY,
    summary="Publish up to 1,000 events, all or nothing",
    dependencies=[NO_PARAMS],
)
async def publish_batch(request: Request, key: Caller) -> JSONResponse:
    _publishes_something(key)
    body, kind = await read_body(request, (JSON, NDJSON))
    items = _items(body, kind)
    if len(items) > MAX_BATCH:
        raise ApiProblem(
            422,
            "batch_too_large",
            f"{len(items)} events; a batch holds at most {MAX_BATCH}; nothing was enqueued",
            errors=[{"field": "body", "message": f"at most {MAX_BATCH} events"}],
        )
    # Up to 1,000 events to judge and enqueue: in the thread pool, so short
    # requests interleave with it (api/__init__.py).
    judged = await run_in_threadpool(judge, items, _index)
    result = await run_in_threadpool(_publish, services(request).publisher, judged, key, False)
    results = [
        {"index": i, "event_id": e.event_id, "status": "accepted" if fresh else "duplicate"}
        for (i, e), fresh in zip(judged.events, result.fresh, strict=True)
    ]
    return JSONResponse(
        {"accepted": result.enqueued, "duplicates": result.duplicates, "results": results},
        status_code=202,
    )


def _index(position: int) -> str:
    return f"index {position}"


def _items(body: bytes, kind: str) -> list[tuple[int, object]]:
    if kind == NDJSON:
        lines = [line for line in body.split(b"\n") if line.strip()]
        return list(enumerate(lines))
    try:
        decoded = read_json(body)
    except InvalidEvent as e:
        errors = [{"field": p.field, "message": p.message} for p in e.problems]
        raise ApiProblem(422, Reason.INVALID_EVENT, "the body is not JSON", errors=errors) from None
    if not isinstance(decoded, list):
        raise ApiProblem(
            422,
            Reason.INVALID_EVENT,
            "a batch is a JSON array of events, or application/x-ndjson",
            errors=[{"field": "body", "message": "must be a JSON array"}],
        )
    return list(enumerate(decoded))


def _publish(sender: Publisher, judged: Judged, key: ApiKey, single: bool) -> PublishResult:
    """All or nothing, then the key's scopes; what a 202 answers."""
    if judged.problems:
        raise _refused(judged.problems, single)
    kinds = {type(e).__name__ for e in judged.only}
    outside = sorted(k for k in kinds if not scopes.may_publish(key.scopes, k))
    if outside:
        raise ApiProblem(
            403, "forbidden", f"this key may not publish {', '.join(outside)}; nothing enqueued"
        )
    try:
        result = publish_all(sender, judged)
    except Refused as e:
        raise _refused(e.problems, single) from None
    except NotDurable as e:
        raise ApiProblem(
            503,
            "not_durable",
            f"not acknowledged: {e}; the events may or may not be stored and are safe to "
            "publish again (their event ids make a republish skip what is there)",
            headers={"Retry-After": "1"},
        ) from None
    if result.reused:
        # Only when another publisher claimed an id between the check and the
        # enqueue: the others went through.
        where = {e.event_id: i for i, e in judged.events}
        raise _refused(
            [
                ItemProblem(
                    where[r],
                    Problem("event_id", f"{Reason.EVENT_ID_REUSED} ({r!r}, just now)"),
                    Reason.EVENT_ID_REUSED,
                )
                for r in result.reused
            ],
            single,
            f"{result.enqueued} event(s) enqueued, these refused",
        )
    return result


def _refused(problems: list[ItemProblem], single: bool, detail: str = "") -> ApiProblem:
    """422 for an invalid event (or a reserved id), 409 when every problem
    is an id published before with another payload."""
    reasons = {p.reason for p in problems}
    reason = reasons.pop() if len(reasons) == 1 else Reason.INVALID_EVENT
    errors = [
        {"field": p.problem.field, "message": p.problem.message}
        | ({} if single else {"index": p.position})
        for p in problems
    ]
    if not detail:
        what = "the event is" if single else f"{len({p.position for p in problems})} event(s) are"
        detail = f"{what} refused; nothing was enqueued"
    return ApiProblem(
        409 if reason is Reason.EVENT_ID_REUSED else 422, reason, detail, errors=errors
    )


def _publishes_something(key: ApiKey) -> None:
    if not scopes.publishes_anything(key.scopes):
        raise ApiProblem(403, "forbidden", "this key may not publish events")

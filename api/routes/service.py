"""The API's own routes: liveness, readiness, metrics and what each problem
type means."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from api.auth import Operator
from api.models import Health
from api.observe import exposition
from api.problems import MEANINGS, documented, problem
from api.services import services

router = APIRouter(tags=["service"])


@router.get("/healthz", response_model=Health, summary="Alive", openapi_extra={"security": []})
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    response_model=Health,
    summary="Ready: Redis reachable and usable",
    responses=documented(503),
    openapi_extra={"security": []},
)
async def readyz(request: Request) -> Response:
    store = services(request).core.store
    try:
        await run_in_threadpool(store.refusals.list, "none")  # a read through the store's keys
        await run_in_threadpool(store.client.ping)
    except Exception as e:
        return problem(
            503,
            "redis_unavailable",
            f"Redis is not usable: {type(e).__name__}",
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ok"})


@router.get(
    "/metrics",
    summary="Prometheus: requests by route and status",
    responses=documented(401, 403, 503)
    | {200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(key: Operator) -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)


@router.get("/problems/{reason}", include_in_schema=False)
async def meaning(reason: str) -> Response:
    said = MEANINGS.get(reason)
    if said is None:
        return problem(404, "not_found", "no such problem type")
    return PlainTextResponse(f"{reason}: {said}\n")

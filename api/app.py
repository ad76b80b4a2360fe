"""The ASGI app of ``subcycle api``: the routes, every error as a problem
document, one log line and the metrics per request.

``create_app()`` builds its own services from the environment when it
starts (each uvicorn worker process does); tests and the demo pass theirs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from api import console
from api.observe import Observe
from api.openapi import install
from api.problems import ApiProblem, problem, response_of
from api.routes import events, operators, otp, reads, service
from api.services import Services
from subcycle import logs
from workers.otp import OtpNotConfigured

log = structlog.get_logger("api")

DESCRIPTION = """subcycle's HTTP API: publish events, verify codes, read license data
and the ledger, and act on queues and dead letters. Every request carries
`Authorization: Bearer <key>`; every error is an RFC 9457 problem document."""


def create_app(services: Services | None = None) -> FastAPI:
    logs.safe_defaults()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is None:
            from subcycle.serve import services_from_environment

            app.state.services = services_from_environment()
        else:
            app.state.services = services
        yield

    app = FastAPI(
        title="subcycle",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    if services is not None:
        app.state.services = services
    for module in (events, otp, reads, operators, service):
        app.include_router(module.router)
    console.install(app)
    _problems(app)
    install(app)
    app.add_middleware(Observe)
    return app


def _problems(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def refused(request: Request, error: ApiProblem) -> Response:
        return response_of(error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p not in ("query", "path", "body"))
                or "request",
                "message": e["msg"],
            }
            for e in error.errors()
        ]
        return problem(422, "invalid_request", "the request is refused", errors=errors)

    @app.exception_handler(HTTPException)
    async def http(request: Request, error: HTTPException) -> Response:
        if console.wants_console(request):
            return console.refused_page(request, _in_words(error.status_code), error.status_code)
        reason = {404: "not_found", 405: "method_not_allowed"}.get(
            error.status_code, "invalid_request"
        )
        headers = dict(error.headers) if error.headers else None
        return problem(error.status_code, reason, str(error.detail), headers=headers)

    @app.exception_handler(OtpNotConfigured)
    async def no_secret(request: Request, error: OtpNotConfigured) -> Response:
        return problem(503, "otp_secret_missing", "verification codes need SUBCYCLE_OTP_SECRET")

    @app.exception_handler(redis.ConnectionError)
    @app.exception_handler(redis.TimeoutError)
    async def unreachable(request: Request, error: Exception) -> Response:
        log.warning("redis_unavailable", error=type(error).__name__)
        if console.wants_console(request):
            return console.refused_page(request, "Redis cannot be reached; try again soon", 503)
        return problem(
            503, "redis_unavailable", "Redis cannot be reached", headers={"Retry-After": "5"}
        )

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> Response:
        log.error("request_failed", error=type(error).__name__, exc_info=error)
        if console.wants_console(request):
            return console.refused_page(request, "the request failed; it is logged", 500)
        return problem(500, "internal_error", "the request failed; it is logged")


def _in_words(status: int) -> str:
    return {404: "there is no such page", 405: "that page is not sent to that way"}.get(
        status, "the request is refused"
    )

"""The operator console at ``/console/`` (SPEC section 13): server-rendered
pages (Jinja2) over the same functions as the CLI and the API, refreshed by
a small script where it runs, readable without it. Nothing is loaded from
outside the machine; every change is a POST with a CSRF token."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from api.console import letters, routes
from api.console.pages import Refused, SignInFirst, refused_page, sign_in_first, wants_console

__all__ = ["install", "refused_page", "wants_console"]


def install(app: FastAPI) -> None:
    app.include_router(routes.router)
    app.include_router(letters.router)
    app.mount(
        "/console/static",
        StaticFiles(packages=[("api.console", "static")]),
        name="console-static",
    )

    @app.exception_handler(SignInFirst)
    async def first(request: Request, error: SignInFirst) -> Response:
        return sign_in_first(request)

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> Response:
        return refused_page(request, error.why, error.status)

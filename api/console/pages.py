"""How the console answers: a page rendered from a template with the
operator's name and CSRF token, under headers that load nothing from
elsewhere; a refusal as a page that says why; and who is signed in, or a
way to sign in first."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from api.console import auth

templates = Jinja2Templates(directory=str(resources.files("api.console") / "templates"))

# Everything comes from this origin; no frame may hold a console page; a
# page of operator data is never cached.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

# A form carries at most the rows a page lists, and a few fields besides.
MAX_FORM_FIELDS = 600


class SignInFirst(Exception):
    """No operator is signed in (or the session ended)."""


class Refused(Exception):
    """A request the console will not act on, and why (shown as a page)."""

    def __init__(self, why: str, status: int = 403) -> None:
        super().__init__(why)
        self.why = why
        self.status = status


def signed_in(request: Request) -> auth.Operator:
    found = auth.operator(request)
    if found is None:
        raise SignInFirst
    return found


async def change(request: Request) -> tuple[auth.Operator, FormData]:
    """The operator and the form of a POST that changes something, once its
    CSRF token is checked."""
    found = signed_in(request)
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    if not auth.csrf_ok(found, field(form, "csrf")):
        raise Refused("refused: the form's CSRF token is missing or wrong; reload the page")
    return found, form


def field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def fields(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    operator: auth.Operator | None = None,
) -> HTMLResponse:
    context = {
        "operator": operator.key.name if operator else None,
        "csrf": operator.session.csrf if operator else "",
        **context,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def refused_page(request: Request, why: str, status: int) -> HTMLResponse:
    """A refusal, an unknown page or an outage, said in words on a page."""
    return page(
        request,
        "refused.html",
        {"why": why},
        status=status,
        operator=auth.operator_or_none(request),
    )


def sign_in_first(request: Request) -> Response:
    """To the sign-in page; a live fragment is told so its page reloads."""
    if request.query_params.get("fragment"):
        return PlainTextResponse("signed out", status_code=401, headers=SECURITY_HEADERS)
    return RedirectResponse("/console/sign-in", status_code=303, headers=SECURITY_HEADERS)


def wants_console(request: Request) -> bool:
    return request.url.path == auth.PATH or request.url.path.startswith(auth.PATH + "/")

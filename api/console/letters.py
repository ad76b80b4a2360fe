"""Dead letters and refused events in the console: a list by filter, and
retry or purge of one, the selected ones, or all matching the filter.

An action is two POSTs. The first (``/confirm``) changes nothing: it finds
what the action would touch and says how many. The second acts, and only
on that: the selected ids, or what matches the filter *if that is still the
count the operator confirmed* (when more or fewer match by then, the
confirmation is shown again with the new count). Both go through
workers/operations.py, as the CLI's and the API's do."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.pages import SECURITY_HEADERS, Refused, change, field, fields, page, signed_in
from api.services import services
from events import JST
from subcycle.logs import masked
from workers import operations
from workers.dead_letters import DeadLetter
from workers.operations import LetterFilter

router = APIRouter(prefix="/console/dead-letters", include_in_schema=False)

ACTIONS = {"retry": operations.retry, "purge": operations.purge}
FILTER_FIELDS = ("queue", "type", "reason", "event_id", "subscription_id")
# What a list page shows at most; "all matching" acts on every match.
SHOWN = 500
# What an outcome is called on the page that reports an action.
OUTCOMES = {
    "requeued": "requeued",
    "republished": "published again",
    "already_done": "already done, not sent again",
    "refused": "refused again and kept here",
    "purged": "purged",
    "gone": "no longer there",
}


@router.get("")
async def listing(request: Request) -> Response:
    operator = signed_in(request)
    chosen = _filter(request.query_params)
    found = await run_in_threadpool(operations.find, services(request).dead_letters, chosen)
    context = {
        "letters": [_row(d) for d in found[:SHOWN]],
        "matching": len(found),
        "chosen": chosen.criteria(),
        "query": urlencode({k: v for k, v in chosen.criteria().items() if v}),
        "queues": operations.QUEUES,
        "done": _done(request.query_params),
    }
    name = "_letters_count.html" if request.query_params.get("fragment") else "dead_letters.html"
    return page(request, name, context, operator=operator)


@router.post("/confirm")
async def confirm(request: Request) -> Response:
    """What an action would touch, counted; nothing is done yet."""
    operator, form = await change(request)
    action, scope = _act(form)
    letters = services(request).dead_letters
    chosen = _filter(form)
    if scope == "matching":
        found = await run_in_threadpool(operations.find, letters, chosen)
    else:
        found, _ = await run_in_threadpool(operations.by_ids, letters, fields(form, "ids"))
    return _confirmation(request, operator, action, scope, chosen, found, changed=False)


@router.post("/{action}")
async def act(request: Request, action: str) -> Response:
    operator, form = await change(request)
    if action not in ACTIONS or field(form, "confirmed") != "yes":
        raise Refused("an action is confirmed on its confirmation page first", status=422)
    scope = field(form, "scope")
    letters = services(request).dead_letters
    chosen = _filter(form)
    gone = 0
    if scope == "matching":
        found = await run_in_threadpool(operations.find, letters, chosen)
        if str(len(found)) != field(form, "expected"):
            return _confirmation(request, operator, action, scope, chosen, found, changed=True)
    else:
        found, missing = await run_in_threadpool(operations.by_ids, letters, fields(form, "ids"))
        gone = len(missing)
    done = await run_in_threadpool(ACTIONS[action], letters, found)
    report = {"done": action, "touched": done.touched, **done.outcomes}
    if gone:
        report["gone"] = gone
    back = {k: v for k, v in chosen.criteria().items() if v}
    target = "/console/dead-letters?" + urlencode({**back, **report})
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


def _confirmation(
    request: Request,
    operator: Any,
    action: str,
    scope: str,
    chosen: LetterFilter,
    found: list[DeadLetter],
    *,
    changed: bool,
) -> Response:
    context = {
        "action": action,
        "scope": scope,
        "letters": [_row(d) for d in found[:SHOWN]],
        "count": len(found),
        "chosen": chosen.criteria(),
        "query": urlencode({k: v for k, v in chosen.criteria().items() if v}),
        "changed": changed,
    }
    return page(request, "confirm.html", context, operator=operator)


def _act(form: FormData) -> tuple[str, str]:
    """The button pressed: ``retry:selected``, ``purge:matching``, …"""
    action, _, scope = field(form, "act").partition(":")
    if action not in ACTIONS or scope not in ("selected", "matching"):
        raise Refused("choose retry or purge, of the selected or of all matching", status=422)
    return action, scope


def _filter(values: QueryParams | FormData) -> LetterFilter:
    def given(name: str) -> str | None:
        value = values.get(name)
        return value.strip() or None if isinstance(value, str) else None

    return LetterFilter(*(given(f) for f in FILTER_FIELDS))


def _row(letter: DeadLetter) -> dict[str, Any]:
    row: dict[str, Any] = masked(letter.to_json())
    row["at"] = letter.at.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")
    payload = letter.payload or {}
    row["subscription_id"] = payload.get("subscription_id")
    return row


def _done(query: QueryParams) -> str | None:
    """The report of the action just done, from the redirect's query: only
    known words and numbers are read, so a crafted link cannot put text here."""
    action = query.get("done")
    touched = query.get("touched", "")
    if action not in ACTIONS or not touched.isascii() or not touched.isdigit():
        return None
    said = [
        f"{query[name]} {words}"
        for name, words in OUTCOMES.items()
        if query.get(name, "").isascii() and query.get(name, "").isdigit()
    ]
    head = f"{action.capitalize()}: {int(touched)} dead letter(s) touched"
    return head + (" — " + ", ".join(said) if said else "") + "."

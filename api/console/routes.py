"""The console's reading pages and its sign-in. Each page asks the same
functions the CLI and the API ask (subcycle/status.py, subcycle/views.py,
the store) and renders what they answer. A page with live parts renders
just those parts when asked with ``?fragment=1`` (console.js asks every few
seconds; without JavaScript the page is whole and reloads by itself)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from api.console import auth
from api.console.pages import SECURITY_HEADERS, Refused, change, field, page, signed_in
from api.services import Services, services
from events.reasons import Refusal
from events.types import parse_identifier, parse_period
from scheduler.ticks import next_ticks
from subcycle.logs import mask_phone, masked
from subcycle.status import lease_status, live_workers, month_end_status, queue_depths
from subcycle.views import charges_csv, closed_ledger, license_json

router = APIRouter(prefix="/console", include_in_schema=False)


def _live(request: Request, whole: str, part: str) -> str:
    return part if request.query_params.get("fragment") else whole


@router.get("/")
async def home(request: Request) -> Response:
    where = "/console/queues" if auth.operator(request) else "/console/sign-in"
    return RedirectResponse(where, status_code=303)


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    if auth.operator(request) is not None:
        return RedirectResponse("/console/queues", status_code=303)
    return _sign_in_page(request, error=None, status=200)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form(max_fields=10)
    if not auth.sign_in_token_ok(request, field(form, "token")):
        raise Refused("the sign-in form expired or came from elsewhere; open it again and sign in")
    response = RedirectResponse("/console/queues", status_code=303, headers=SECURITY_HEADERS)
    if auth.open_session(request, response, field(form, "key")) is None:
        return _sign_in_page(
            request, error="That key is unknown, revoked or has no operator scope.", status=401
        )
    return response


def _sign_in_page(request: Request, error: str | None, status: int) -> Response:
    token = auth.new_sign_in_token()
    response = page(request, "sign_in.html", {"token": token, "error": error}, status=status)
    auth.set_sign_in_token(request, response, token)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    await change(request)
    response = RedirectResponse("/console/sign-in", status_code=303, headers=SECURITY_HEADERS)
    auth.close_session(request, response)
    return response


@router.get("/queues")
async def queues(request: Request) -> Response:
    operator = signed_in(request)
    core = services(request).core
    depths = await run_in_threadpool(queue_depths, core)
    live = await run_in_threadpool(live_workers, core)
    name = _live(request, "queues.html", "_queues_table.html")
    return page(request, name, {"depths": depths, "live": live}, operator=operator)


@router.get("/billing")
async def billing(request: Request) -> Response:
    operator = signed_in(request)
    months = await run_in_threadpool(_months, services(request))
    name = _live(request, "billing.html", "_billing_body.html")
    return page(request, name, months, operator=operator)


def _months(found: Services) -> dict[str, Any]:
    store = found.core.store
    status = month_end_status(store.billing)
    rows = []
    for period in reversed(store.billing.started_periods()):
        close = store.billing.status(period)
        if close is None:
            continue
        count, yen = store.ledger.totals(period) if close.state == "closed" else (None, None)
        rows.append({"period": period, "close": close, "count": count, "yen": yen})
    return {"months": rows, "last_closed": status.last_closed, "running": status.running}


@router.get("/billing/{period}.csv")
async def ledger_csv(request: Request, period: str) -> Response:
    """A closed month's ledger with phone numbers masked, as everywhere in
    the console (the carrier's billing batch reads the API's or the CLI's)."""
    signed_in(request)
    try:
        month = parse_period(period)
    except ValueError as e:
        raise Refused(f"period: {e}", status=422) from None
    ledger = services(request).core.store.ledger
    try:
        rows = await run_in_threadpool(closed_ledger, ledger, month)
    except Refusal as e:
        raise Refused(f"{e.reason}: {e.detail}", status=409) from None
    return StreamingResponse(
        iterate_in_threadpool(charges_csv(rows, phone=mask_phone)),
        media_type="text/csv; charset=utf-8",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="charges-{month}-masked.csv"',
        },
    )


@router.get("/scheduler")
async def scheduler(request: Request) -> Response:
    operator = signed_in(request)
    core = services(request).core
    lease = await run_in_threadpool(lease_status, core.client, core.store.keys)
    expiry, month_end = next_ticks(core.clock(), core.settings.expiry_at)
    facts = {
        "holder": lease.holder,
        "next_expiry": expiry,
        "next_month_end": month_end,
        "every_s": core.settings.scheduler_interval_s,
    }
    return page(
        request, _live(request, "scheduler.html", "_scheduler_facts.html"), facts, operator=operator
    )


@router.get("/subscription")
async def subscription(request: Request) -> Response:
    operator = signed_in(request)
    wanted = request.query_params.get("id", "").strip()
    view, error, status = None, None, 200
    if wanted:
        try:
            sid = parse_identifier(wanted)
        except ValueError as e:
            error, status = f"subscription id: {e}", 422
        else:
            subscriptions = services(request).core.store.subscriptions
            found = await run_in_threadpool(subscriptions.get, sid)
            if found is None:
                error, status = f"no subscription {sid!r}", 404
            else:
                view = masked(license_json(found))
    context = {"wanted": wanted, "view": view, "error": error}
    return page(request, "subscription.html", context, status=status, operator=operator)

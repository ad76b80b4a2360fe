"""``Authorization: Bearer <key>``: who is asking, and what they may do.

A key is looked up by its hash on every request (a revoked key stops at
once); its last use is noted at most once a minute per process.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from api import scopes
from api.problems import ApiProblem
from api.services import services
from store.apikeys import ApiKey

TOUCH_EVERY_S = 60.0
_touched: dict[str, float] = {}


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


async def caller(request: Request) -> ApiKey:
    """The key of the request, or 401 (on the event loop: two short reads)."""
    key = bearer(request)
    found = None if key is None else services(request).core.store.api_keys.find(key)
    if found is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "send a valid API key: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": 'Bearer realm="subcycle"'},
        )
    request.state.key_name = found.name
    _note_use(request, found)
    return found


def requires(scope: str) -> Callable[[Request], Awaitable[ApiKey]]:
    """A route dependency: the caller, who must hold ``scope``."""

    async def check(request: Request) -> ApiKey:
        found = await caller(request)
        if scope not in found.scopes:
            raise ApiProblem(403, "forbidden", f"this key lacks the scope {scope!r}")
        return found

    return check


def _note_use(request: Request, key: ApiKey) -> None:
    now = time.monotonic()
    if now - _touched.get(key.name, -TOUCH_EVERY_S) < TOUCH_EVERY_S:
        return
    _touched[key.name] = now
    core = services(request).core
    core.store.api_keys.touch(key.name, core.clock())


# Route parameters: the caller, holding the scope each route needs.
Caller = Annotated[ApiKey, Depends(caller)]
Codes = Annotated[ApiKey, Depends(requires(scopes.OTP))]
SubscriptionReader = Annotated[ApiKey, Depends(requires(scopes.SUBSCRIPTIONS_READ))]
ChargesReader = Annotated[ApiKey, Depends(requires(scopes.CHARGES_READ))]
Operator = Annotated[ApiKey, Depends(requires(scopes.OPERATOR))]

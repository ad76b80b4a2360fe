"""Signing in to the console: an operator key once, then an HttpOnly,
SameSite=Strict session cookie; a CSRF token on every form that changes
anything (and a double-submitted one on the sign-in form itself)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

import redis
from starlette.requests import Request
from starlette.responses import Response

from api import scopes
from api.services import services
from store.apikeys import ApiKey, key_hash
from store.sessions import Session

SESSION_COOKIE = "subcycle_session"
SIGN_IN_COOKIE = "subcycle_sign_in"
PATH = "/console"


@dataclass(frozen=True)
class Operator:
    """Who is signed in: their session and the key it was opened with."""

    session: Session
    key: ApiKey


def operator(request: Request) -> Operator | None:
    """The signed-in operator, or None (no session, an expired one, or a key
    revoked or no longer holding the operator scope since)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    store = services(request).core.store
    session = store.sessions.get(session_id)
    if session is None:
        return None
    key = store.api_keys.by_hash(session.key_hash)
    if key is None or scopes.OPERATOR not in key.scopes:
        return None
    request.state.key_name = key.name
    return Operator(session, key)


def operator_or_none(request: Request) -> Operator | None:
    """Who is signed in, for a page that says something went wrong: None
    when that cannot be told either (Redis away)."""
    try:
        return operator(request)
    except redis.RedisError:
        return None


def open_session(request: Request, response: Response, key_text: str) -> ApiKey | None:
    """Sign in with ``key_text``: a session cookie on ``response``, or None
    when it is no operator key."""
    store = services(request).core.store
    key = store.api_keys.find(key_text.strip())
    if key is None or scopes.OPERATOR not in key.scopes:
        return None
    session_id, _ = store.sessions.create(key_hash(key_text.strip()), key.name)
    _cookie(request, response, SESSION_COOKIE, session_id, int(store.sessions.ttl.total_seconds()))
    response.delete_cookie(SIGN_IN_COOKIE, path=PATH)
    return key


def close_session(request: Request, response: Response) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        services(request).core.store.sessions.drop(session_id)
    response.delete_cookie(SESSION_COOKIE, path=PATH)


def new_sign_in_token() -> str:
    """The token the sign-in form carries; its twin goes in a cookie."""
    return secrets.token_urlsafe(24)


def set_sign_in_token(request: Request, response: Response, token: str) -> None:
    _cookie(request, response, SIGN_IN_COOKIE, token, 600)


def sign_in_token_ok(request: Request, given: str) -> bool:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, given)


def csrf_ok(signed_in: Operator, given: str) -> bool:
    return hmac.compare_digest(signed_in.session.csrf, given)


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )

"""The API for the login page and for operators, and how it behaves when
Redis is away: on fakeredis and on the real Redis."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.services import Services
from subcycle import logs
from subcycle.bootstrap import App, core
from tests.api_support import bearer, key_for
from tests.otp_support import SECRET, customer, last_code, wrong
from tests.support import PHONE, cancellation, purchase, run
from tests.test_api import post, problem_of


@pytest.fixture
def login(make_app: Callable[..., App]) -> Any:
    """An app with a server secret, a customer, and the API over it."""
    app = make_app(otp_secret=SecretStr(SECRET))
    customer(app)
    with TestClient(create_app(Services.of(app.core)), raise_server_exceptions=False) as client:
        yield app, client


def test_the_login_page_asks_for_a_code_and_verifies_it_over_http(login: Any) -> None:
    app, client = login
    page = key_for(app, "login-page", "events:OtpRequested", "otp")
    asked = {
        "type": "OtpRequested",
        "event_id": "login-1",
        "occurred_at": app.deps.clock().isoformat(),
        "phone": "090-1234-5678",
        "channel": "sms",
    }
    assert post(client, "/v1/events", asked, page).status_code == 202
    run(app)
    status = post(client, "/v1/otp/status", {"phone": "090-1234-5678"}, page)
    assert status.json() == {"status": "code_sent"}
    code = last_code(app)
    typo = post(client, "/v1/otp/verify", {"phone": "090-1234-5678", "code": wrong(code)}, page)
    good = post(client, "/v1/otp/verify", {"phone": "+819012345678", "code": code}, page)
    assert (typo.json(), good.json()) == ({"outcome": "invalid_code"}, {"outcome": "ok"})
    again = post(client, "/v1/otp/verify", {"phone": "090-1234-5678", "code": code}, page)
    assert again.json() == {"outcome": "no_active_code"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "090-1234-5678", "code": "１２３４５６"}, "code"),
        ({"phone": "090-1234-5678", "code": "12345"}, "code"),
        ({"phone": "050-1234-5678", "code": "123456"}, "phone"),
        ({"phone": "090-1234-5678"}, "code"),
        ({"phone": "090-1234-5678", "code": 123456}, "code"),
    ],
)
def test_input_that_is_not_six_ascii_digits_is_422_and_counts_no_attempt(
    login: Any, body: dict[str, Any], field: str
) -> None:
    app, client = login
    page = key_for(app, "login-page", "otp")
    before = app.deps.codes.codes.state(PHONE)
    answer = problem_of(post(client, "/v1/otp/verify", body, page), 422)
    assert [e["field"] for e in answer["errors"]] == [field]
    assert app.deps.codes.codes.state(PHONE) == before


def dead_letter(app: App, sub: str) -> None:
    """A cancellation for a subscription that never comes: dead-lettered."""
    run(app, cancellation(sub, "2026-06-30T12:00:00+09:00", event_id=f"c-{sub}"))


def test_operators_list_dead_letters_by_filter_and_retry_exactly_those(
    app: App, http: TestClient
) -> None:
    ops = key_for(app, "ops", "operator")
    for sub in ("S1", "S2", "S3"):
        dead_letter(app, sub)
    listed = http.get(
        "/v1/dead-letters", params={"reason": "unknown_subscription"}, headers=bearer(ops)
    )
    assert len(listed.json()) == 3
    only = http.get("/v1/dead-letters", params={"subscription_id": "S2"}, headers=bearer(ops))
    assert [d["event_id"] for d in only.json()] == ["c-S2"]

    run(app, purchase("S2"))
    retried = post(http, "/v1/dead-letters/retry", {"filter": {"subscription_id": "S2"}}, ops)
    assert (retried.json()["touched"], retried.json()["outcomes"]) == (1, {"republished": 1})
    run(app)
    sub = app.store.subscriptions.get("S2")
    assert sub is not None
    assert sub.license_type == "Cancelled"
    assert len(http.get("/v1/dead-letters", headers=bearer(ops)).json()) == 2


def test_a_bulk_action_never_guesses_what_it_touches(app: App, http: TestClient) -> None:
    ops = key_for(app, "ops", "operator")
    dead_letter(app, "S1")
    dead_letter(app, "S2")
    for body in ({}, {"filter": {}}, {"ids": ["x"], "all": True}, {"ids": ["no-such"]}):
        problem_of(post(http, "/v1/dead-letters/purge", body, ops), 422)
    [first, _] = http.get("/v1/dead-letters", headers=bearer(ops)).json()
    purged = post(http, "/v1/dead-letters/purge", {"ids": [first["id"]]}, ops)
    assert purged.json()["touched"] == 1
    every = post(http, "/v1/dead-letters/purge", {"all": True}, ops)
    assert every.json()["touched"] == 1
    assert http.get("/v1/dead-letters", headers=bearer(ops)).json() == []


def test_queue_depths_as_the_cli_shows_them(app: App, http: TestClient) -> None:
    ops = key_for(app, "ops", "operator")
    app.publisher.publish([purchase("S1")])
    rows = {r["queue"]: r for r in http.get("/v1/queues", headers=bearer(ops)).json()}
    assert rows["lifecycle"]["ready"] == 1
    assert set(rows) == {"lifecycle", "cancellations", "billing", "otp", "notifications"}


def test_redis_away_is_503_with_retry_after_and_readyz_says_not_ready(app: App) -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)
    settings = app.settings
    away = Services.of(core(settings, client=dead))
    keyed = create_app(away)
    with TestClient(keyed, raise_server_exceptions=False) as client:
        for answer in (
            client.get("/readyz"),
            client.post(
                "/v1/events",
                content="{}",
                headers={"content-type": "application/json", "Authorization": "Bearer sc_x"},
            ),
        ):
            body = problem_of(answer, 503)
            assert body["type"] == "/problems/redis_unavailable"
            assert answer.headers["retry-after"] == "5"
        assert client.get("/healthz").status_code == 200


def test_one_log_line_per_request_with_the_key_s_name_never_the_key_or_the_number(
    login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = login
    page = key_for(app, "login-page", "otp")
    buffer = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", buffer)
        logs.configure("json", "INFO")
        post(client, "/v1/otp/status", {"phone": "090-1234-5678"}, page)
        post(client, "/v1/otp/verify", {"phone": "090-1234-5678", "code": "123456"}, page)
    logs.configure("console", "WARNING")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "http_request"]
    assert [(r["route"], r["status"], r["key"]) for r in requests] == [
        ("/v1/otp/status", 200, "login-page"),
        ("/v1/otp/verify", 200, "login-page"),
    ]
    text = buffer.getvalue()
    assert page not in text
    assert "1234-5678" not in text
    assert "12345678" not in text
    assert "123456" not in text

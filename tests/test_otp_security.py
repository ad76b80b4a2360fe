"""Codes never stored or logged; strangers indistinguishable from customers;
no code without the server secret."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
import structlog

from subcycle.bootstrap import App
from tests.conftest import Clock
from tests.otp_support import (
    MINUTE,
    SECRET,
    ask,
    code_in,
    customer,
    last_code,
    otp,
    outbox,
    register,
    with_secret,
    wrong,
)
from tests.support import PHONE, event, everything_stored, purchase, run
from workers.otp import derive_code

STRANGER = "+818099998888"


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = with_secret(make_app)
    customer(app)
    return app


def test_a_code_is_derived_from_the_secret_the_number_and_the_code_id() -> None:
    code = derive_code(b"s" * 16, PHONE, "id-1")

    assert len(code) == 6
    assert code.isascii()
    assert code.isdigit()
    assert derive_code(b"s" * 16, PHONE, "id-1") == code
    others = {
        derive_code(b"t" * 16, PHONE, "id-1"),
        derive_code(b"s" * 16, STRANGER, "id-1"),
        derive_code(b"s" * 16, PHONE, "id-2"),
    }
    assert code not in others


def test_redis_and_the_queues_hold_the_code_id_and_never_the_code(app: App, clock: Clock) -> None:
    run(
        app,
        event("OtpRequested", phone=PHONE, channel="sms", occurred_at=clock.now.isoformat()),
    )
    code = last_code(app)
    state = otp(app).codes.state(PHONE)

    stored = everything_stored(
        app.client, app.settings.key_prefix, app.settings.queue_namespace, skip="outbox"
    )
    assert state.code_id is not None
    assert state.code_id in stored
    assert code not in stored
    assert derive_code(SECRET.encode(), PHONE, state.code_id) == code


def _fresh_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Module loggers cached under an earlier configure() (a CLI test calls it)
    would bypass capture_logs; give every one of ours a fresh proxy."""
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in {"workers", "store", "subcycle"} and hasattr(module, "log"):
            monkeypatch.setattr(module, "log", structlog.get_logger(name))


def test_no_log_line_of_a_whole_login_contains_the_code(
    app: App, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh_loggers(monkeypatch)

    def publish(type_: str, **fields: Any) -> None:
        run(app, event(type_, occurred_at=clock.now.isoformat(), **fields))

    with structlog.testing.capture_logs() as logs:
        publish("OtpRequested", phone=PHONE, channel="voice")
        publish("OtpRequested", phone=PHONE, channel="voice", resend=True)
        publish("OtpRequested", phone=PHONE, channel="voice", resend=True)
        publish("OtpRequested", phone=PHONE, channel="voice", resend=True)
        publish(
            "MobileNumberRegistrationSubmitted",
            phone=PHONE,
            phone_confirmation=PHONE,
            channel="sms",
        )
        codes = {code_in(m) for m in outbox(app)}
        code = last_code(app)
        otp(app).verify(PHONE, wrong(code), clock.now)
        otp(app).verify(PHONE, code, clock.now)

    assert len(codes) == 2
    assert any(line["event"] == "verification_code_delivered" for line in logs)
    for line in logs:
        assert not any(sent in repr(line) for sent in codes)


def test_a_number_with_no_contract_is_never_sent_anything(app: App, clock: Clock) -> None:
    for _ in range(4):
        ask(app, clock, STRANGER)
    register(app, clock, STRANGER)

    assert outbox(app, STRANGER) == []


def test_verify_and_status_answer_a_stranger_as_a_customer_whose_code_did_not_arrive(
    app: App, clock: Clock
) -> None:
    def journey(phone: str) -> list[str]:
        seen = [otp(app).status(phone, clock.now)]
        for _ in range(4):
            ask(app, clock, phone)
            seen.append(otp(app).status(phone, clock.now))
        seen.append(otp(app).verify(phone, "000000", clock.now))
        register(app, clock, phone)
        seen.append(otp(app).status(phone, clock.now))
        seen.append(otp(app).verify(phone, "000001", clock.now))
        clock.now += 10 * MINUTE
        seen.append(otp(app).verify(phone, "000002", clock.now))
        seen.append(otp(app).status(phone, clock.now))
        return seen

    customer_seen = journey(PHONE)
    clock.now -= 10 * MINUTE
    stranger_seen = journey(STRANGER)

    assert stranger_seen == customer_seen
    assert customer_seen[-1] == "none"


def test_the_voice_call_speaks_the_locale_of_the_number_s_contract(app: App, clock: Clock) -> None:
    customer(app, phone="+817012345678", sub="S-en", locale="en")

    ask(app, clock, "+817012345678", channel="voice")

    [message] = outbox(app, "+817012345678")
    assert message["text"].startswith("This is Mobile Security.")


def test_without_a_server_secret_a_request_is_refused_and_nothing_is_sent(
    make_app: Callable[..., App], clock: Clock
) -> None:
    app = make_app()
    customer(app)

    run(app, event("OtpRequested", phone=PHONE, channel="sms", occurred_at=clock.now.isoformat()))

    [refused] = app.store.refusals.list()
    assert refused.reason == "otp_secret_missing"
    assert outbox(app) == []


def test_a_code_asked_for_while_the_purchase_is_still_on_its_way_is_sent_when_it_lands(
    make_app: Callable[..., App], clock: Clock
) -> None:
    # Published together, handled on two queues: here the purchase lands
    # after the request's first run, which waits for it a bounded while.
    app = with_secret(make_app, unknown_subscription_retries=6, unknown_subscription_backoff_ms=50)
    newcomer = "+819011112222"
    request = event(
        "OtpRequested", phone=newcomer, channel="sms", occurred_at=clock.now.isoformat()
    )
    app.publisher.publish([request])
    app.publisher.publish_derived([purchase("S-new", phone=newcomer)], delay_ms=150)

    report = run(app)

    [message] = outbox(app, newcomer)
    assert message["kind"] == "verification_code"
    assert report.counts["retried"] >= 1
    assert otp(app).verify(newcomer, code_in(message), clock.now) == "ok"


def test_a_stranger_s_request_waits_its_bounded_retries_then_sends_nothing(
    app: App, clock: Clock
) -> None:
    report = run(
        app, event("OtpRequested", phone=STRANGER, channel="sms", occurred_at=clock.now.isoformat())
    )

    assert outbox(app, STRANGER) == []
    assert report.counts["retried"] == app.settings.unknown_subscription_retries
    assert report.counts.get("dead_lettered", 0) == 0
    assert otp(app).status(STRANGER, clock.now) == "code_sent"

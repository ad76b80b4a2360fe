"""OtpRequested: a login attempt is the life of one code (SPEC section 7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from subcycle.bootstrap import App
from tests.conftest import Clock
from tests.otp_support import (
    MINUTE,
    ask,
    code_in,
    customer,
    last_code,
    otp,
    outbox,
    with_secret,
)
from tests.support import PHONE


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = with_secret(make_app)
    customer(app)
    return app


def test_a_first_request_delivers_a_six_digit_code_on_the_chosen_channel(
    app: App, clock: Clock
) -> None:
    decision = ask(app, clock, channel="voice")

    assert decision.outcome == "sent"
    [message] = outbox(app)
    assert message["channel"] == "voice"
    assert message["kind"] == "verification_code"
    assert message["message_id"] == f"otp:{decision_event(app)}"
    code = last_code(app)
    assert len(code) == 6
    assert code.isdigit()


def decision_event(app: App) -> str:
    return otp(app).codes.history(PHONE)[-1].event_id or ""


def test_any_request_while_a_code_is_live_resends_the_same_code_whatever_its_flag(
    app: App, clock: Clock
) -> None:
    ask(app, clock)
    first = last_code(app)
    clock.now += MINUTE

    assert ask(app, clock, resend=False).outcome == "resent"
    assert ask(app, clock, channel="voice", resend=True).outcome == "resent"
    assert {code_in(m) for m in outbox(app)} == {first}
    assert len(outbox(app)) == 3


def test_the_second_resend_is_delivered_and_the_third_requires_registration(
    app: App, clock: Clock
) -> None:
    assert [ask(app, clock).outcome for _ in range(3)] == ["sent", "resent", "resent"]
    assert len(outbox(app)) == 3

    third_resend = ask(app, clock, resend=True)

    assert third_resend.outcome == "resends_exhausted"
    assert len(outbox(app)) == 3
    assert otp(app).status(PHONE, clock.now) == "registration_required"


def test_registration_required_blocks_every_send_until_24_hours_pass(
    app: App, clock: Clock
) -> None:
    for _ in range(4):
        ask(app, clock)
    start = clock.now
    clock.now = start + 24 * 60 * MINUTE - MINUTE / 60
    assert ask(app, clock).outcome == "registration_required"
    assert len(outbox(app)) == 3

    clock.now = start + 24 * 60 * MINUTE
    assert ask(app, clock).outcome == "sent"
    assert len(outbox(app)) == 4


def test_a_request_after_the_code_died_starts_a_new_attempt_with_a_new_code(
    app: App, clock: Clock
) -> None:
    ask(app, clock)
    old_id = otp(app).codes.state(PHONE).code_id
    clock.now += 10 * MINUTE

    assert ask(app, clock).outcome == "sent"
    state = otp(app).codes.state(PHONE)
    assert state.code_id != old_id
    assert state.sends == 1


def test_a_request_that_reaches_the_actor_more_than_10_minutes_late_sends_nothing(
    app: App, clock: Clock
) -> None:
    asked_at = clock.now
    clock.now = asked_at + 10 * MINUTE
    assert ask(app, clock, occurred_at=asked_at).outcome == "sent"

    clock.now += MINUTE / 60_000  # one millisecond more
    stale = ask(app, clock, occurred_at=asked_at, phone="+819087654321")

    assert stale.outcome == "stale"
    assert outbox(app, "+819087654321") == []
    assert otp(app).codes.history("+819087654321")[-1].outcome == "stale"


def test_a_redelivered_request_has_the_effect_of_one(app: App, clock: Clock) -> None:
    first = ask(app, clock, event_id="otp-1")
    again = ask(app, clock, event_id="otp-1")

    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.code_id == first.code_id
    assert len(outbox(app)) == 1
    assert otp(app).codes.state(PHONE).sends == 1


def test_a_code_whose_delivery_is_retried_after_it_died_is_not_delivered(
    app: App, clock: Clock
) -> None:
    app.deps.delivery.deliver = _failing_once(app.deps.delivery.deliver)  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        ask(app, clock, event_id="otp-1")
    clock.now += 10 * MINUTE

    assert ask(app, clock, event_id="otp-1", occurred_at=clock.now - 10 * MINUTE).duplicate
    assert outbox(app) == []


def _failing_once(deliver: Callable[..., bool]) -> Callable[..., bool]:
    calls = []

    def flaky(*args: Any, **kwargs: Any) -> bool:
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionError("provider timed out")
        return deliver(*args, **kwargs)

    return flaky

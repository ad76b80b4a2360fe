"""Registration of the mobile number, send limits, and the number's status."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from events import InvalidEvent
from store.errors import Refusal
from subcycle.bootstrap import App
from tests.conftest import Clock
from tests.otp_support import (
    MINUTE,
    ask,
    customer,
    last_code,
    otp,
    outbox,
    register,
    with_secret,
)
from tests.support import PHONE, event, run

OTHER = "+818011112222"
LIMIT = 6  # sends per number per hour in these tests


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = with_secret(make_app, otp_number_limit=LIMIT, otp_overall_limit=8)
    customer(app)
    return app


def _exhaust_resends(app: App, clock: Clock) -> None:
    for _ in range(4):
        ask(app, clock)


def test_two_equal_numbers_clear_registration_required_and_send_a_fresh_code(
    app: App, clock: Clock
) -> None:
    _exhaust_resends(app, clock)
    old_code = last_code(app)
    old_id = otp(app).codes.state(PHONE).code_id

    decision = register(app, clock, "090-1234-5678", "+819012345678", channel="sms")

    assert decision.outcome == "registered"
    assert otp(app).codes.state(PHONE).code_id != old_id
    assert otp(app).status(PHONE, clock.now) == "code_sent"
    assert len(outbox(app)) == 4
    assert otp(app).verify(PHONE, old_code, clock.now) == "invalid_code"
    assert otp(app).verify(PHONE, last_code(app), clock.now) == "ok"


def test_after_registration_the_new_attempt_has_its_own_two_resends(app: App, clock: Clock) -> None:
    _exhaust_resends(app, clock)
    register(app, clock)

    outcomes = [ask(app, clock).outcome for _ in range(3)]

    assert outcomes == ["resent", "resent", "resends_exhausted"]


def test_two_different_numbers_are_refused_and_send_nothing(app: App, clock: Clock) -> None:
    _exhaust_resends(app, clock)

    with pytest.raises(Refusal, match="numbers_do_not_match"):
        register(app, clock, PHONE, OTHER)
    assert otp(app).status(PHONE, clock.now) == "registration_required"
    assert len(outbox(app)) == 3


def test_a_mismatched_registration_is_dead_lettered_with_its_reason(app: App) -> None:
    run(
        app,
        event(
            "MobileNumberRegistrationSubmitted",
            phone=PHONE,
            phone_confirmation=OTHER,
            channel="sms",
            occurred_at="2026-07-01T12:00:00+09:00",
        ),
    )

    [refused] = app.store.refusals.list()
    assert refused.reason == "numbers_do_not_match"
    assert refused.type == "MobileNumberRegistrationSubmitted"
    assert outbox(app) == []


def test_registrations_count_against_the_per_number_send_limit(app: App, clock: Clock) -> None:
    for _ in range(LIMIT):
        register(app, clock)

    past_limit = register(app, clock)

    assert past_limit.outcome == "rate_limited"
    assert len(outbox(app)) == LIMIT


def test_the_request_past_the_per_number_limit_sends_nothing_and_is_recorded(
    app: App, clock: Clock
) -> None:
    for _attempt in range(LIMIT // 3):
        for _send in range(3):
            ask(app, clock)
        clock.now += 10 * MINUTE

    past_limit = ask(app, clock, event_id="over-the-limit")

    assert past_limit.outcome == "rate_limited"
    assert len(outbox(app)) == LIMIT
    last = otp(app).codes.history(PHONE)[-1]
    assert (last.outcome, last.event_id) == ("rate_limited", "over-the-limit")
    assert otp(app).status(PHONE, clock.now) == "rate_limited"


def test_the_per_number_window_slides(app: App, clock: Clock) -> None:
    start = clock.now
    for _ in range(LIMIT):
        register(app, clock)
    clock.now = start + 60 * MINUTE - MINUTE / 60
    assert register(app, clock).outcome == "rate_limited"

    clock.now = start + 60 * MINUTE
    assert register(app, clock).outcome == "registered"


def test_the_overall_limit_counts_sends_to_every_number(app: App, clock: Clock) -> None:
    numbers = [f"+8190{n:08d}" for n in range(11112222, 11112231)]
    outcomes = [ask(app, clock, phone).outcome for phone in numbers]

    assert outcomes == ["sent"] * 8 + ["rate_limited_overall"]
    assert otp(app).codes.history(numbers[-1])[-1].outcome == "rate_limited_overall"


def test_status_follows_the_number_through_a_login(app: App, clock: Clock) -> None:
    seen = [otp(app).status(PHONE, clock.now)]
    ask(app, clock)
    seen.append(otp(app).status(PHONE, clock.now))
    ask(app, clock)
    ask(app, clock)
    ask(app, clock)
    seen.append(otp(app).status(PHONE, clock.now))
    register(app, clock)
    seen.append(otp(app).status(PHONE, clock.now))
    otp(app).verify(PHONE, last_code(app), clock.now)
    seen.append(otp(app).status(PHONE, clock.now))

    assert seen == ["none", "code_sent", "registration_required", "code_sent", "none"]


def test_status_is_none_once_the_code_expired(app: App, clock: Clock) -> None:
    ask(app, clock)
    clock.now += 10 * MINUTE

    assert otp(app).status(PHONE, clock.now) == "none"


def test_a_confirmation_that_is_not_a_mobile_number_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidEvent, match="phone_confirmation"):
        event(
            "MobileNumberRegistrationSubmitted",
            phone=PHONE,
            phone_confirmation="050-1234-5678",
            channel="sms",
            occurred_at="2026-07-01T12:00:00+09:00",
        )

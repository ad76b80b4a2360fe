"""verify(phone, code, now): the order of checks, the edges, the lockout."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from subcycle.bootstrap import App
from tests.conftest import Clock
from tests.otp_support import MINUTE, ask, customer, last_code, otp, with_secret, wrong
from tests.support import PHONE
from workers.otp import InvalidInput


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    # Enough sends per number for the lockout's 20 codes.
    app = with_secret(make_app, otp_number_limit=100)
    customer(app)
    return app


def test_the_right_code_at_9_59_is_ok(app: App, clock: Clock) -> None:
    ask(app, clock)
    clock.now += 10 * MINUTE - MINUTE / 60

    assert otp(app).verify(PHONE, last_code(app), clock.now) == "ok"


def test_the_right_code_at_10_00_has_expired(app: App, clock: Clock) -> None:
    ask(app, clock)
    clock.now += 10 * MINUTE

    assert otp(app).verify(PHONE, last_code(app), clock.now) == "expired"


def test_a_resend_does_not_extend_the_code_s_10_minutes(app: App, clock: Clock) -> None:
    ask(app, clock)
    clock.now += 9 * MINUTE
    ask(app, clock, resend=True)
    clock.now += MINUTE

    assert otp(app).verify(PHONE, last_code(app), clock.now) == "expired"


def test_the_fifth_wrong_code_is_invalid_and_the_sixth_attempt_is_too_many(
    app: App, clock: Clock
) -> None:
    ask(app, clock)
    code = last_code(app)
    verdicts = [otp(app).verify(PHONE, wrong(code), clock.now) for _ in range(5)]

    assert verdicts == ["invalid_code"] * 5
    assert otp(app).verify(PHONE, code, clock.now) == "too_many_attempts"


def test_the_right_code_after_four_wrong_ones_is_ok(app: App, clock: Clock) -> None:
    ask(app, clock)
    code = last_code(app)
    for _ in range(4):
        otp(app).verify(PHONE, wrong(code), clock.now)

    assert otp(app).verify(PHONE, code, clock.now) == "ok"


def test_a_resend_never_resets_the_wrong_attempts(app: App, clock: Clock) -> None:
    ask(app, clock)
    code = last_code(app)
    for _ in range(4):
        otp(app).verify(PHONE, wrong(code), clock.now)
    ask(app, clock, resend=True)
    otp(app).verify(PHONE, wrong(code), clock.now)

    assert otp(app).verify(PHONE, code, clock.now) == "too_many_attempts"


def test_a_code_is_good_for_one_successful_use(app: App, clock: Clock) -> None:
    ask(app, clock)
    code = last_code(app)

    assert otp(app).verify(PHONE, code, clock.now) == "ok"
    assert otp(app).verify(PHONE, code, clock.now) == "no_active_code"


def test_a_number_that_never_asked_has_no_active_code(app: App, clock: Clock) -> None:
    assert otp(app).verify(PHONE, "123456", clock.now) == "no_active_code"


def test_too_many_attempts_is_checked_before_expiry(app: App, clock: Clock) -> None:
    ask(app, clock)
    code = last_code(app)
    for _ in range(5):
        otp(app).verify(PHONE, wrong(code), clock.now)
    clock.now += 11 * MINUTE

    assert otp(app).verify(PHONE, code, clock.now) == "too_many_attempts"


def test_a_used_code_is_no_active_code_even_after_it_expired(app: App, clock: Clock) -> None:
    ask(app, clock)
    otp(app).verify(PHONE, last_code(app), clock.now)
    clock.now += 11 * MINUTE

    assert otp(app).verify(PHONE, last_code(app), clock.now) == "no_active_code"


@pytest.mark.parametrize("bad", ["12345", "1234567", "12345a", "１２３４５６", " 123456", "٣٣٣٣٣٣"])
def test_input_that_is_not_six_ascii_digits_is_refused_and_not_counted(
    app: App, clock: Clock, bad: str
) -> None:
    ask(app, clock)

    with pytest.raises(InvalidInput, match="code"):
        otp(app).verify(PHONE, bad, clock.now)
    assert otp(app).codes.state(PHONE).wrong == 0


def test_a_number_in_national_or_full_width_form_is_the_same_number(app: App, clock: Clock) -> None:
    ask(app, clock)

    assert otp(app).verify("０９０-１２３４-５６７８", last_code(app), clock.now) == "ok"


def test_a_successful_verification_is_recorded_in_the_number_s_history(
    app: App, clock: Clock
) -> None:
    ask(app, clock)
    otp(app).verify(PHONE, last_code(app), clock.now)

    outcomes = [line.outcome for line in otp(app).codes.history(PHONE)]
    assert outcomes == ["sent", "verified"]
    assert otp(app).codes.history(PHONE)[-1].at == clock.now


def _burn_codes(app: App, clock: Clock, wrong_codes: int) -> None:
    """``wrong_codes`` consecutive wrong codes, five per code, each code new."""
    while wrong_codes > 0:
        ask(app, clock)
        code = last_code(app)
        for _ in range(min(5, wrong_codes)):
            assert otp(app).verify(PHONE, wrong(code), clock.now) == "invalid_code"
            wrong_codes -= 1
        clock.now += MINUTE


def test_after_99_consecutive_wrong_codes_the_right_one_still_works(app: App, clock: Clock) -> None:
    _burn_codes(app, clock, 99)
    ask(app, clock)

    assert otp(app).verify(PHONE, last_code(app), clock.now) == "ok"


def test_100_consecutive_wrong_codes_lock_verification_for_24_hours(app: App, clock: Clock) -> None:
    _burn_codes(app, clock, 100)
    locked_at = clock.now - MINUTE
    ask(app, clock)

    assert otp(app).verify(PHONE, last_code(app), clock.now) == "too_many_attempts"
    assert otp(app).status(PHONE, clock.now) == "rate_limited"
    clock.now = locked_at + 24 * 60 * MINUTE
    ask(app, clock)
    assert otp(app).verify(PHONE, last_code(app), clock.now) == "ok"
    assert "locked" in [line.outcome for line in otp(app).codes.history(PHONE)]


def test_a_success_resets_the_count_of_consecutive_wrong_codes(app: App, clock: Clock) -> None:
    _burn_codes(app, clock, 95)
    ask(app, clock)
    otp(app).verify(PHONE, last_code(app), clock.now)
    _burn_codes(app, clock, 10)
    ask(app, clock)

    assert otp(app).verify(PHONE, last_code(app), clock.now) == "ok"


def test_concurrent_guesses_each_count_and_the_right_code_succeeds_once(
    app: App, clock: Clock
) -> None:
    ask(app, clock)
    code = last_code(app)
    guesses = [wrong(code)] * 8 + [code] * 4

    with ThreadPoolExecutor(max_workers=12) as pool:
        verdicts = Counter(pool.map(lambda c: otp(app).verify(PHONE, c, clock.now), guesses))

    assert verdicts["ok"] <= 1
    assert verdicts["invalid_code"] <= 5
    assert otp(app).codes.state(PHONE).wrong == verdicts["invalid_code"]
    assert sum(verdicts.values()) == 12

"""The verification-code rules (SPEC section 7) as pure functions of the
stored state and the time: what a verification answers and what it changes.

Requests are decided by ``scripts/otp_request.lua`` with the same numbers;
``OtpRules`` is the one place they are set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Verdict = Literal["ok", "invalid_code", "expired", "too_many_attempts", "no_active_code"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class OtpRules:
    """The SPEC's fixed numbers, and the send limits operators configure."""

    validity: timedelta = timedelta(minutes=10)
    max_wrong: int = 5
    max_sends: int = 3  # the first send and two resends
    registration_hold: timedelta = timedelta(hours=24)
    lockout_after: int = 100
    lockout: timedelta = timedelta(hours=24)
    number_limit: int = 10
    number_window: timedelta = timedelta(hours=1)
    overall_limit: int = 600
    overall_window: timedelta = timedelta(minutes=1)

    @property
    def attempt_lifetime(self) -> timedelta:
        """How long anything about a login attempt may matter: its code, the
        registration hold and the lockout it can start. Every key about an
        attempt expires this long after its last change (SPEC section 11)."""
        return max(self.validity, self.registration_hold, self.lockout, self.number_window)


@dataclass(frozen=True)
class CodeState:
    """A number's stored state: its current login attempt and its 24 h states."""

    code_id: str | None = None
    created_ms: int = 0
    sends: int = 0
    wrong: int = 0
    used: bool = False
    reg_until_ms: int = 0
    consecutive_wrong: int = 0
    locked_until_ms: int = 0

    def live(self, now_ms: int, rules: OtpRules) -> bool:
        return (
            self.code_id is not None
            and not self.used
            and now_ms < self.created_ms + ms(rules.validity)
            and self.wrong < rules.max_wrong
        )


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def from_ms(millis: int) -> datetime:
    return _EPOCH + millis * _MS


def ms(span: timedelta) -> int:
    return span // _MS


def judge(
    state: CodeState, now_ms: int, matches: Callable[[str], bool], rules: OtpRules
) -> tuple[Verdict, dict[str, int]]:
    """A verification, in SPEC section 7's order of checks; and what it changes.

    "At most 5 wrong attempts; then it is dead": the 5th wrong code is still
    ``invalid_code``, the attempt after it is ``too_many_attempts`` even with
    the right code. The 100-consecutive lockout answers ``too_many_attempts``.
    """
    if state.code_id is None or state.used:
        return "no_active_code", {}
    if state.wrong >= rules.max_wrong or now_ms < state.locked_until_ms:
        return "too_many_attempts", {}
    if now_ms >= state.created_ms + ms(rules.validity):
        return "expired", {}
    if matches(state.code_id):
        return "ok", {"used": 1, "consecutive_wrong": 0}
    changes = {"wrong": state.wrong + 1, "consecutive_wrong": state.consecutive_wrong + 1}
    if changes["consecutive_wrong"] >= rules.lockout_after:
        changes.update(consecutive_wrong=0, locked_until_ms=now_ms + ms(rules.lockout))
    return "invalid_code", changes

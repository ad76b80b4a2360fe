"""Verification-code state per number (SPEC section 7), in Redis.

One hash per number holds the current login attempt: the random id its code
is derived from (never the code), when it was created, sends so far, wrong
attempts, whether it was used; and, across attempts, the registration-required
deadline, the consecutive wrong codes and the verification lockout. Two sorted
sets are the per-number and overall send windows. A request is decided by one
Lua script (``scripts/otp_request.lua``); a verification by WATCH/MULTI,
because the comparison needs the secret, which never reaches Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Literal

import redis

from store.keys import Keys

RequestKind = Literal["request", "register"]
Verdict = Literal["ok", "invalid_code", "expired", "too_many_attempts", "no_active_code"]
Status = Literal["code_sent", "registration_required", "rate_limited", "none"]

DELIVERING = frozenset({"sent", "resent", "registered"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_SCRIPT = resources.files("store").joinpath("scripts/otp_request.lua").read_text()
# Garbage collection only (real time): every rule is judged on the stored
# times. Long enough that the 24 h states and the lockout count outlive them.
STATE_TTL = timedelta(days=7)
HISTORY_TTL = timedelta(days=30)
HISTORY_MAX = 100


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


@dataclass(frozen=True)
class Decision:
    """What one request decided. ``code_id`` only when a code is to be delivered."""

    outcome: str
    code_id: str | None
    created_at: datetime | None
    duplicate: bool
    locale: str | None = None  # of the number's contract; None: no contract

    @property
    def delivers(self) -> bool:
        return self.outcome in DELIVERING


@dataclass(frozen=True)
class CodeState:
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
            and now_ms < self.created_ms + _ms(rules.validity)
            and self.wrong < rules.max_wrong
        )


@dataclass(frozen=True)
class HistoryLine:
    outcome: str
    at: datetime
    event_id: str | None
    channel: str | None


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS


def _ms(span: timedelta) -> int:
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
    if now_ms >= state.created_ms + _ms(rules.validity):
        return "expired", {}
    if matches(state.code_id):
        return "ok", {"used": 1, "consecutive_wrong": 0}
    changes = {"wrong": state.wrong + 1, "consecutive_wrong": state.consecutive_wrong + 1}
    if changes["consecutive_wrong"] >= rules.lockout_after:
        changes.update(consecutive_wrong=0, locked_until_ms=now_ms + _ms(rules.lockout))
    return "invalid_code", changes


class RedisOtp:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._request = client.register_script(_SCRIPT)

    def request(
        self,
        phone: str,
        *,
        event_id: str,
        fingerprint: str,
        kind: RequestKind,
        channel: str,
        occurred_at: datetime,
        now: datetime,
        rules: OtpRules,
        fresh_code_id: str,
    ) -> Decision:
        """Decide one request; a redelivered event gets its first decision back."""
        keys = self._keys
        answer: Any = self._request(
            keys=[
                keys.otp(phone),
                keys.event(event_id),
                keys.otp_sends(phone),
                keys.otp_sends_overall,
                keys.otp_history(phone),
                keys.phone_locale,
            ],
            args=[
                to_ms(now),
                to_ms(occurred_at),
                event_id,
                fingerprint,
                kind,
                fresh_code_id,
                channel,
                rules.number_limit,
                _ms(rules.number_window),
                rules.overall_limit,
                _ms(rules.overall_window),
                _ms(rules.validity),
                rules.max_wrong,
                rules.max_sends,
                _ms(rules.registration_hold),
                _ms(STATE_TTL),
                HISTORY_MAX,
                _ms(HISTORY_TTL),
                phone,
            ],
        )
        outcome, code_id, created, duplicate, locale = (_s(part) for part in answer)
        return Decision(
            outcome=outcome,
            code_id=code_id or None,
            created_at=from_ms(int(created)) if created else None,
            duplicate=duplicate == "1",
            locale=locale or None,
        )

    def state(self, phone: str) -> CodeState:
        return _state(self._r.hgetall(self._keys.otp(phone)))

    def verify(
        self, phone: str, now: datetime, matches: Callable[[str], bool], rules: OtpRules
    ) -> Verdict:
        """Judge a code against the number's state; concurrent guesses each count."""
        key = self._keys.otp(phone)
        now_ms = to_ms(now)
        with self._r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    verdict, changes = judge(_state(pipe.hgetall(key)), now_ms, matches, rules)
                    if not changes:
                        pipe.reset()
                        return verdict
                    pipe.multi()
                    pipe.hset(key, mapping=changes)  # type: ignore[arg-type]
                    pipe.pexpire(key, _ms(STATE_TTL))
                    if verdict == "ok":
                        self._remember(pipe, phone, "verified", now_ms)
                    if "locked_until_ms" in changes:
                        self._remember(pipe, phone, "locked", now_ms)
                    pipe.execute()
                    return verdict
                except redis.WatchError:
                    continue

    def status(self, phone: str, now: datetime, rules: OtpRules) -> Status:
        """Where the number stands, for the login page (see docs/otp.md for the order)."""
        now_ms = to_ms(now)
        keys = self._keys
        with self._r.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.otp(phone))
            pipe.zcount(keys.otp_sends(phone), f"({now_ms - _ms(rules.number_window)}", "+inf")
            pipe.zcount(keys.otp_sends_overall, f"({now_ms - _ms(rules.overall_window)}", "+inf")
            raw, number_sends, overall_sends = pipe.execute()
        state = _state(raw)
        if now_ms < state.locked_until_ms:
            return "rate_limited"
        if now_ms < state.reg_until_ms:
            return "registration_required"
        if state.live(now_ms, rules):
            return "code_sent"
        if number_sends >= rules.number_limit or overall_sends >= rules.overall_limit:
            return "rate_limited"
        return "none"

    def history(self, phone: str) -> list[HistoryLine]:
        """What happened to the number's requests and verifications, oldest first."""
        lines = []
        for raw in self._r.lrange(self._keys.otp_history(phone), 0, -1):
            outcome, at, event_id, channel = _s(raw).split("|", 3)
            lines.append(HistoryLine(outcome, from_ms(int(at)), event_id or None, channel or None))
        return lines

    def _remember(self, pipe: Any, phone: str, outcome: str, now_ms: int) -> None:
        key = self._keys.otp_history(phone)
        pipe.rpush(key, f"{outcome}|{now_ms}||")
        pipe.ltrim(key, -HISTORY_MAX, -1)
        pipe.pexpire(key, _ms(HISTORY_TTL))


def _state(raw: Any) -> CodeState:
    f = {_s(k): _s(v) for k, v in raw.items()}
    return CodeState(
        code_id=f.get("code_id") or None,
        created_ms=int(f.get("created_ms", 0)),
        sends=int(f.get("sends", 0)),
        wrong=int(f.get("wrong", 0)),
        used=f.get("used") == "1",
        reg_until_ms=int(f.get("reg_until", 0)),
        consecutive_wrong=int(f.get("consecutive_wrong", 0)),
        locked_until_ms=int(f.get("locked_until_ms", 0)),
    )


def _s(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

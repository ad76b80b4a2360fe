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
from datetime import datetime
from typing import Any, Literal

import redis

from store.keys import Keys
from store.lua import script
from store.otp_rules import CodeState, OtpRules, Verdict, from_ms, judge, ms, to_ms
from store.text import text

RequestKind = Literal["request", "register"]
Status = Literal["code_sent", "registration_required", "rate_limited", "none"]

DELIVERING = frozenset({"sent", "resent", "registered"})
_SCRIPT = script("otp_request")
# Every key about a login attempt (the number's state, its history, the
# request's event record) expires ``OtpRules.attempt_lifetime`` (24 h by
# default) after its last change: memory never grows with login attempts.
# The expiry is garbage collection only: every rule is judged on the stored
# times, and each deadline stored is at most that far ahead.
HISTORY_MAX = 100


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
class HistoryLine:
    outcome: str
    at: datetime
    event_id: str | None
    channel: str | None


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
                keys.phone_locale(phone),
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
                ms(rules.number_window),
                rules.overall_limit,
                ms(rules.overall_window),
                ms(rules.validity),
                rules.max_wrong,
                rules.max_sends,
                ms(rules.registration_hold),
                ms(rules.attempt_lifetime),
                HISTORY_MAX,
                ms(rules.attempt_lifetime),
                phone,
            ],
        )
        outcome, code_id, created, duplicate, locale = (text(part) for part in answer)
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
                    pipe.pexpire(key, ms(rules.attempt_lifetime))
                    if verdict == "ok":
                        self._remember(pipe, phone, "verified", now_ms, rules)
                    if "locked_until_ms" in changes:
                        self._remember(pipe, phone, "locked", now_ms, rules)
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
            pipe.zcount(keys.otp_sends(phone), f"({now_ms - ms(rules.number_window)}", "+inf")
            pipe.zcount(keys.otp_sends_overall, f"({now_ms - ms(rules.overall_window)}", "+inf")
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
            outcome, at, event_id, channel = text(raw).split("|", 3)
            lines.append(HistoryLine(outcome, from_ms(int(at)), event_id or None, channel or None))
        return lines

    def _remember(self, pipe: Any, phone: str, outcome: str, now_ms: int, rules: OtpRules) -> None:
        key = self._keys.otp_history(phone)
        pipe.rpush(key, f"{outcome}|{now_ms}||")
        pipe.ltrim(key, -HISTORY_MAX, -1)
        pipe.pexpire(key, ms(rules.attempt_lifetime))


def _state(raw: Any) -> CodeState:
    f = {text(k): text(v) for k, v in raw.items()}
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

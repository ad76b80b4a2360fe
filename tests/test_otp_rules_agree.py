"""The code-liveness rule is written twice, in Python (``CodeState.live``,
what verification and status judge) and in the request script
(``store/scripts/otp_request.lua``, which takes the Python rules' numbers as
arguments); for any stored state and time, both say the same."""

from __future__ import annotations

import itertools
from datetime import timedelta

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.keys import Keys
from store.otp import RedisOtp
from store.otp_rules import CodeState, OtpRules, from_ms

RULES = OtpRules(max_sends=1_000, number_limit=10**6, overall_limit=10**6)
NOW = 1_782_900_000_000  # 2026-07-01 in ms
_n = itertools.count()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    has_code=st.booleans(),
    age_ms=st.integers(min_value=-1_000, max_value=2 * 600_000),
    wrong=st.integers(min_value=0, max_value=8),
    used=st.booleans(),
)
def test_the_script_and_the_python_rule_agree_on_whether_a_code_is_live(
    client: redis.Redis, unique: str, has_code: bool, age_ms: int, wrong: int, used: bool
) -> None:
    keys = Keys(f"t{unique}:")
    phone = f"+81901{next(_n):07d}"
    state = CodeState(
        code_id="c1" if has_code else None,
        created_ms=NOW - age_ms,
        sends=1,
        wrong=wrong,
        used=used,
    )
    fields = {"created_ms": state.created_ms, "sends": 1, "wrong": wrong, "used": int(used)}
    if state.code_id:
        fields["code_id"] = state.code_id
    client.hset(keys.otp(phone), mapping=fields)  # type: ignore[arg-type]
    decision = RedisOtp(client, keys).request(
        phone,
        event_id=f"e{next(_n)}",
        fingerprint="f",
        kind="request",
        channel="sms",
        occurred_at=from_ms(NOW),
        now=from_ms(NOW),
        rules=RULES,
        fresh_code_id="c2",
    )
    lua_live = decision.outcome == "resent"
    assert decision.outcome in {"resent", "sent"}
    assert lua_live == state.live(NOW, RULES)


def test_the_rules_lifetime_covers_every_deadline_an_attempt_can_set() -> None:
    rules = OtpRules()
    assert rules.attempt_lifetime == timedelta(hours=24)
    assert rules.attempt_lifetime >= max(rules.validity, rules.registration_hold, rules.lockout)

"""Redis memory grows with subscriptions and charges, never with login
attempts or refused requests (SPEC section 11): every key about an attempt
expires within a day of its end (here, with the day shortened to seconds),
and refused events are kept for a set time, then dropped."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import fakeredis
import pytest
import redis
from pydantic import SecretStr

from store.otp_rules import OtpRules, ms
from store.refusals import RefusedEvent
from subcycle.bootstrap import App
from subcycle.cli import main
from tests.conftest import Clock
from tests.otp_support import SECRET, customer
from tests.support import event, run
from workers.handlers.otp import request_code
from workers.otp import Otp, OtpPolicy
from workers.publisher import Publisher

SECONDS = timedelta(seconds=1)
SHORT = OtpRules(
    validity=SECONDS,
    registration_hold=2 * SECONDS,
    lockout=2 * SECONDS,
    number_window=SECONDS,
    overall_limit=1_000_000,
    overall_window=SECONDS,
)


def keys_under(client: redis.Redis, prefix: str) -> list[bytes]:
    return list(client.scan_iter(match=f"{prefix}*", count=10_000))


def shortened(app: App) -> App:
    """The app with every login-attempt time in seconds instead of a day."""
    app.deps.codes = Otp(app.store.codes, OtpPolicy(SECRET.encode(), SHORT))
    app.deps.publisher = Publisher(
        app.client,
        app.store.keys,
        app.settings.queue_namespace,
        claim_ttl_ms={"otp": ms(SHORT.attempt_lifetime)},
    )
    return app


def stranger(i: int) -> str:
    return f"+81901{i:07d}"


def memory_of(client: redis.Redis, keys: list[bytes]) -> int:
    if isinstance(client, fakeredis.FakeRedis):
        return 0  # fakeredis keeps no such account
    return sum(int(client.memory_usage(k) or 0) for k in keys)


def test_ten_thousand_login_attempts_for_strangers_leave_nothing_once_they_expire(
    make_app: Callable[..., App], clock: Clock, backend: str
) -> None:
    app = shortened(make_app(otp_secret=SecretStr(SECRET), unknown_subscription_retries=0))
    customer(app)  # one real contract: its records stay
    prefix = app.settings.key_prefix
    kept = set(keys_under(app.client, prefix))
    count = 10_000 if backend == "redis" else 1_000  # fakeredis runs Lua slowly
    requests = [
        event("OtpRequested", phone=stranger(i), channel="sms", occurred_at=clock.now.isoformat())
        for i in range(count)
    ]
    registrations = [
        event(
            "MobileNumberRegistrationSubmitted",
            phone=stranger(i),
            phone_confirmation=stranger(i + 1),  # refused: numbers_do_not_match
            channel="sms",
            occurred_at=clock.now.isoformat(),
        )
        for i in range(100)
    ]
    # Claimed by the publisher, then handled as the OTP actor would (its
    # messages leave nothing once acked); the registrations through workers.
    app.deps.publisher.publish(requests)
    for request in requests:
        request_code(request, app.deps)  # type: ignore[arg-type]
    run(app, *registrations, threads=8)

    attempt_keys = [k for k in keys_under(app.client, prefix) if k not in kept]
    assert attempt_keys  # state, sends, history and event record (the oldest may be gone)
    lifetime = ms(SHORT.attempt_lifetime)
    with app.client.pipeline(transaction=False) as pipe:
        for key in attempt_keys:
            pipe.pttl(key)
        ttls = dict(zip(attempt_keys, pipe.execute(), strict=True))
    refusal_keys = {app.store.keys.refused.encode(), app.store.keys.refused_by_time.encode()}
    # -2: expired meanwhile; -1 (no expiry) or longer than an attempt: unbounded.
    unbounded = [k for k, t in ttls.items() if (t == -1 or t > lifetime) and k not in refusal_keys]
    assert unbounded == []

    time.sleep(lifetime / 1000 + 1.5)
    left = [k for k in keys_under(app.client, prefix) if k not in kept]
    # Only the refused registrations' record remains (kept for its retention).
    assert set(left) <= refusal_keys
    assert len(app.store.refusals.list("otp")) == 100
    # What is left is the 100 refusals' worth (about 780 bytes each on Redis
    # 7), whatever the 10,000 attempts cost. Not a fraction of the attempts'
    # peak: on a slow machine the oldest attempts expire before it is taken.
    assert memory_of(app.client, left) < 100 * 1_500


def test_refused_events_older_than_the_retention_are_dropped_as_new_ones_come(
    app: App, clock: Clock
) -> None:
    refusals = app.store.refusals
    refusals.retention = timedelta(days=90)

    def refused(n: int, days_ago: int) -> RefusedEvent:
        return RefusedEvent(
            refusal_id=f"r{n}",
            event_id=f"e{n}",
            type="MobileNumberRegistrationSubmitted",
            queue="otp",
            reason="numbers_do_not_match",
            detail="phone_confirmation: differs from phone",
            refused_at=clock.now - timedelta(days=days_ago),
            payload=None,
        )

    for n in range(150):
        refusals.record(refused(n, 100))
    refusals.record(refused(1_000, 0))
    refusals.record(refused(1_001, 0))
    assert len(refusals.list()) == 2  # two new records dropped 100 + 50 old ones
    assert refusals.purge_older_than(clock.now + timedelta(seconds=1)) == 2
    assert refusals.list() == []


def test_purge_older_than_drops_old_dead_letters_and_keeps_new_ones(
    cli_env: redis.Redis, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from subcycle.commands.common import open_core

    app = open_core(type("Args", (), {"redis_url": None})())
    old = RefusedEvent(
        refusal_id="old",
        event_id="e-old",
        type="OtpRequested",
        queue="otp",
        reason="numbers_do_not_match",
        detail="",
        refused_at=app.clock() - timedelta(days=40),
        payload=None,
    )
    app.store.refusals.record(old)
    app.store.refusals.record(
        RefusedEvent(**{**old.__dict__, "refusal_id": "new", "refused_at": app.clock()})
    )
    assert main(["dead-letters", "purge", "--older-than", "30d"]) == 0
    assert "purged 1 dead letter(s)" in capsys.readouterr().out
    assert [r.refusal_id for r in app.store.refusals.list()] == ["new"]
    assert main(["dead-letters", "purge", "--older-than", "soon"]) == 2

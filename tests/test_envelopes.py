"""Dramatiq envelopes found on a queue are trusted only as far as our own
publisher writes them (SPEC section 11): hostile ones, written straight into
Redis, go through real workers and are moved aside with their reason; no
actor runs more often than its own bound, and a verification code
published beside them is still delivered."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from dramatiq import Message

from subcycle.bootstrap import App
from tests.otp_support import customer, outbox, with_secret
from tests.poison_support import dead_letter_ids, unacked
from tests.support import PHONE, cancellation, event, purchase, run
from workers.transport.inspect import Inspector
from workers.transport.keys import QueueKeys


def put_envelope(app: App, queue: str, fields: dict[str, Any], rid: str | None = None) -> str:
    """An envelope, however hostile, exactly where Dramatiq looks for messages."""
    rid = rid or str(uuid.uuid4())
    keys = QueueKeys(app.broker.namespace)
    app.client.hset(keys.messages(queue), rid, json.dumps(fields))
    app.client.rpush(keys.ready(queue), rid)
    return rid


def envelope(queue: str, actor: str, args: list[Any], **options: Any) -> dict[str, Any]:
    fields = Message(queue_name=queue, actor_name=actor, args=(), kwargs={}, options={}).asdict()
    fields["args"] = args
    fields["options"] = options
    return fields


def refusal_of(app: App, rid: str) -> tuple[str, str]:
    [found] = [r for r in app.store.refusals.list() if r.redis_message_id == rid]
    return found.reason, found.detail


def cancel_wire() -> dict[str, Any]:
    return cancellation("S1", "2026-06-15T20:30:00+09:00").wire()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_retries", 1_000),
        ("min_backoff", 1),
        ("max_backoff", 1),
        ("max_age", 10**12),
        ("time_limit", 10**9),
        ("retries", -100),
        ("retries", 10**6),
        ("eta", 10**15),
        ("on_failure", "CancellationRequested"),
    ],
)
def test_options_that_would_change_an_actor_s_bounds_are_never_honoured(
    app: App, option: str, value: Any
) -> None:
    fields = envelope("cancellations", "CancellationRequested", [cancel_wire()], **{option: value})
    rid = str(uuid.uuid4())
    fields["options"]["redis_message_id"] = rid
    put_envelope(app, "cancellations", fields, rid)
    report = run(app, purchase("S1"))

    reason, detail = refusal_of(app, rid)
    assert (reason, detail.split(":")[0]) == ("malformed_message", f"options.{option}")
    assert rid in dead_letter_ids(app, "cancellations")
    assert report.counts["retried"] == 0
    sub = app.store.subscriptions.get("S1")
    assert sub is not None
    assert sub.license_type == "Monthly"  # the cancellation never ran


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("message_id", ["a", "list"], "message_id: not a message id"),
        ("message_id", "x" * 65, "message_id: not a message id"),
        ("message_timestamp", "1700000000000", "message_timestamp"),
        ("message_timestamp", True, "message_timestamp"),
        ("message_timestamp", 4_102_444_800_000, "message_timestamp"),  # the year 2100
        ("queue_name", ["cancellations"], "queue_name"),
        ("args", {"0": 1}, "args: not a list"),
        ("kwargs", [], "kwargs: not an object"),
        ("options", [], "options: not an object"),
        ("pipe_target", {}, "pipe_target: not allowed"),
    ],
)
def test_a_malformed_envelope_is_moved_aside_and_the_rest_of_its_fetch_goes_on(
    app: App, field: str, value: Any, said: str
) -> None:
    fields = envelope("cancellations", "CancellationRequested", [cancel_wire()])
    rid = str(uuid.uuid4())
    fields["options"] = {"redis_message_id": rid}
    fields[field] = value
    put_envelope(app, "cancellations", fields, rid)
    # Fetched in the same batch as the bad one: it must still be handled.
    good = cancellation("S2", "2026-06-15T20:30:00+09:00")
    report = run(app, purchase("S1"), purchase("S2"), good)

    reason, detail = refusal_of(app, rid)
    assert reason in {"malformed_message", "wrong_queue"}
    assert said in detail
    assert report.counts["dead_lettered"] == 0  # poison never reaches an actor
    second = app.store.subscriptions.get("S2")
    assert second is not None
    assert second.license_type == "Cancelled"
    assert unacked(app) == 0


def test_a_forged_redis_message_id_cannot_ack_another_message(app: App) -> None:
    victim = app.publisher.publish([purchase("S1")])
    assert victim.enqueued == 1
    [(victim_rid, _)] = Inspector(app.client, app.broker.namespace).messages_on("lifecycle")
    forged = envelope("lifecycle", "SubscriptionPurchased", [purchase("S9").wire()])
    forged["options"] = {"redis_message_id": victim_rid}
    rid = put_envelope(app, "lifecycle", forged)
    run(app)

    assert refusal_of(app, rid)[1] == ("options.redis_message_id: not the id it was fetched under")
    assert app.store.subscriptions.get("S1") is not None  # the victim was handled
    assert app.store.subscriptions.get("S9") is None


def test_a_message_that_is_not_an_envelope_at_all_is_moved_aside(app: App) -> None:
    rid = put_envelope(app, "lifecycle", {"hello": "world"})
    run(app)
    assert refusal_of(app, rid)[0] == "malformed_message"


def test_a_verification_code_goes_out_beside_messages_that_would_hold_every_thread(
    make_app: Callable[..., App],
) -> None:
    app = with_secret(make_app)
    customer(app)
    hour_ms = 3_600_000
    for _ in range(4):  # twice the threads of the worker below
        fields = envelope(
            "otp",
            "OtpRequested",
            [event("OtpRequested", phone=PHONE, channel="sms", occurred_at=_now(app)).wire()],
        )
        rid = str(uuid.uuid4())
        fields["options"] = {"redis_message_id": rid, "eta": int(time.time() * 1000) + hour_ms}
        put_envelope(app, "otp", fields, rid)
    request = event("OtpRequested", phone=PHONE, channel="sms", occurred_at=_now(app))
    started = time.monotonic()
    report = run(app, request, threads=2)

    assert time.monotonic() - started < 10
    assert len(outbox(app)) == 1
    assert report.counts["processed"] >= 1
    held = [r for r in app.store.refusals.list("otp") if r.reason == "malformed_message"]
    assert len(held) == 4
    assert {r.detail for r in held} == {"options.eta: only a delayed message has one"}


def _now(app: App) -> str:
    return app.deps.clock().isoformat()

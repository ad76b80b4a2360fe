"""A commit that is its message's last effect settles the message with it
(workers/transport/settle.py): effect and ack in one script, or neither.
The store sees only opaque extra writes and says whether it made them."""

from __future__ import annotations

import pytest
import redis

from store.records import Fact
from store.subscriptions import Applied, ExtraWrites
from subcycle.bootstrap import App
from tests.support import cancellation, purchase, run
from workers.transport.broker import SubcycleBroker
from workers.transport.keys import QueueKeys
from workers.transport.settle import settlement


class Message:
    """A message as a worker holds it: its id in the ack set, its body in the hash."""

    def __init__(self, client: redis.Redis, namespace: str, rid: str = "m1") -> None:
        self.client = client
        keys = QueueKeys(namespace)
        self.acks, self.bodies, self.rid = keys.acks("w1", "q"), keys.messages("q"), rid
        client.sadd(self.acks, rid)
        client.hset(self.bodies, rid, b"body")

    def settlement(self) -> ExtraWrites:
        return settlement(QueueKeys(self.namespace), "w1", "q", self.rid)

    @property
    def namespace(self) -> str:
        return self.acks.split(":__acks__")[0]

    @property
    def held(self) -> tuple[bool, bool]:
        """(still in the ack set, body still there)."""
        return (
            bool(self.client.sismember(self.acks, self.rid)),
            bool(self.client.hexists(self.bodies, self.rid)),
        )


def cancel(app: App, sub: str, event_id: str, at: str, extra: ExtraWrites | None) -> Applied:
    event = cancellation(sub, at, event_id=event_id)
    fact = Fact(event.event_id, event.type, event.occurred_at, "monthly_service")
    return app.store.subscriptions.apply(sub, fact, event.fingerprint(), extra)


def test_an_applied_fact_settles_its_message_in_the_same_commit(
    app: App, client: redis.Redis, unique: str
) -> None:
    run(app, purchase("S1"))
    message = Message(client, f"tq{unique}")
    applied = cancel(app, "S1", "c1", "2026-06-15T20:30:00+09:00", message.settlement())
    assert applied.subscription.license_type == "Cancelled"
    assert message.held == (False, False)
    assert applied.extra_written


def test_a_refused_fact_leaves_its_message_to_the_ack_after_its_refusal_is_recorded(
    app: App, client: redis.Redis, unique: str
) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-01T09:00:00+09:00", event_id="c0"))
    message = Message(client, f"tq{unique}")
    applied = cancel(app, "S1", "c1", "2026-06-15T20:30:00+09:00", message.settlement())
    assert applied.entry is not None
    assert applied.entry.reason == "already_cancelled"
    assert message.held == (True, True)
    assert not applied.extra_written


def test_a_duplicate_commits_nothing_and_settles_nothing(
    app: App, client: redis.Redis, unique: str
) -> None:
    run(app, purchase("S1"))
    cancel(app, "S1", "c1", "2026-06-15T20:30:00+09:00", None)
    message = Message(client, f"tq{unique}")
    applied = cancel(app, "S1", "c1", "2026-06-15T20:30:00+09:00", message.settlement())
    assert applied.duplicate
    assert message.held == (True, True)
    assert not applied.extra_written


def test_a_message_no_longer_held_keeps_its_body_for_whoever_holds_it_now(
    app: App, client: redis.Redis, unique: str
) -> None:
    # Maintenance took the message back from a worker it thought dead and
    # requeued it: the body must stay for the next fetch, as Dramatiq's ack does.
    run(app, purchase("S1"))
    message = Message(client, f"tq{unique}")
    client.srem(message.acks, message.rid)
    applied = cancel(app, "S1", "c1", "2026-06-15T20:30:00+09:00", message.settlement())
    assert applied.subscription.license_type == "Cancelled"
    assert message.held == (False, True)
    assert not applied.extra_written


def test_a_worker_settles_each_cancellation_in_its_commit_and_acks_the_rest(
    app: App, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    acked: list[str] = []
    ack = SubcycleBroker.coalesced_ack

    def counting(self: SubcycleBroker, queue_name: str, rid: str) -> None:
        acked.append(queue_name)
        ack(self, queue_name, rid)

    monkeypatch.setattr(SubcycleBroker, "coalesced_ack", counting)
    subs = [f"S{i}" for i in range(20)]
    run(app, *(purchase(s) for s in subs))
    run(app, *(cancellation(s, "2026-06-15T20:30:00+09:00") for s in subs))
    run(app, cancellation("S0", "2026-06-20T10:00:00+09:00", event_id="late"))  # refused
    assert acked.count("lifecycle") == 20  # purchases: acked after the handler
    assert acked.count("cancellations") == 1  # only the refused one
    assert all(app.store.subscriptions.get(s).license_type == "Cancelled" for s in subs)  # type: ignore[union-attr]
    ns = app.settings.queue_namespace
    leftovers = [k for k in client.scan_iter(f"{ns}:*") if not k.endswith(b"__heartbeats__")]
    assert leftovers == []

"""A live worker gives back what its ack sets hold but it does not
(workers/transport/holdings.py): a lost fetch reply, a consumer restarted
after an outage, an ack or a settling commit lost in a failover. The
process-level test, with a real worker, is in tests/test_recovery.py."""

from __future__ import annotations

import pytest
import redis
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.errors import ConnectionClosed

from subcycle.bootstrap import App
from tests.support import purchase
from workers.transport.holdings import Holdings, Orphans
from workers.transport.keys import QueueKeys
from workers.transport.recovery import reclaim


def test_an_id_not_held_is_due_only_after_a_whole_grace_of_looks() -> None:
    orphans = Orphans(grace_ms=1_000)
    seen = {"q": ["a", "b"]}
    held = {("q", "b")}
    assert orphans.due(seen, held, now_ms=0) == {}
    assert orphans.due(seen, held, now_ms=999) == {}
    assert orphans.due(seen, held, now_ms=1_000) == {"q": ["a"]}
    # given back: a later look starts its grace again
    assert orphans.due(seen, held, now_ms=1_001) == {}


def test_an_id_held_at_one_look_starts_its_grace_again() -> None:
    orphans = Orphans(grace_ms=1_000)
    assert orphans.due({"q": ["a"]}, set(), now_ms=0) == {}
    assert orphans.due({"q": ["a"]}, {("q", "a")}, now_ms=500) == {}  # its fetch reply came
    assert orphans.due({"q": ["a"]}, set(), now_ms=1_200) == {}
    assert orphans.due({"q": ["a"]}, set(), now_ms=2_200) == {"q": ["a"]}


def test_a_delayed_message_is_held_only_until_its_eta() -> None:
    holdings = Holdings()
    holdings.take("q.DQ", ["a", "b"])
    holdings.hold_until("q.DQ", "a", eta_ms=5_000)
    assert holdings.held(4_999) == {("q.DQ", "a"), ("q.DQ", "b")}
    assert holdings.held(5_000) == {("q.DQ", "b")}
    holdings.let_go("q.DQ", ["b"])
    assert holdings.held(0) == {("q.DQ", "a")}


def ready(app: App) -> list[bytes]:
    return app.client.lrange(QueueKeys(app.broker.namespace).ready("lifecycle"), 0, -1)  # type: ignore[return-value]


def acked_by_us(app: App) -> set[bytes]:
    key = QueueKeys(app.broker.namespace).acks(app.broker.broker_id, "lifecycle")
    return app.client.smembers(key)  # type: ignore[return-value]


def one_handed_out(app: App, published: int, prefetch: int) -> tuple[Consumer, MessageProxy]:
    """A consumer of ``published`` purchases that fetched ``prefetch`` and handed out one."""
    app.publisher.publish([purchase(f"S{i}", event_id=f"buy-{i}") for i in range(published)])
    consumer = app.broker.consume("lifecycle", prefetch=prefetch, timeout=100)
    handed = next(consumer)
    assert handed is not None
    return consumer, handed


def test_a_closed_consumer_requeues_what_it_fetched_but_did_not_hand_out(
    app: App, client: redis.Redis
) -> None:
    # Given a consumer that fetched three purchases and handed out one
    consumer, handed = one_handed_out(app, published=3, prefetch=3)
    # When it is closed (Dramatiq restarts a consumer after an outage)
    consumer.close()
    # Then the two it kept are ready again, and only the one handed out is held
    rid = handed.options["redis_message_id"].encode()
    assert len(ready(app)) == 2
    assert acked_by_us(app) == {rid}
    assert {r for _, r in app.broker.holdings.held(0)} == {rid.decode()}


def test_reclaim_gives_back_only_what_the_worker_does_not_hold(
    app: App, client: redis.Redis
) -> None:
    # Given a message this worker holds, and one in its ack set that it never
    # received (as a failover leaves a fetch whose ack was lost)
    _, handed = one_handed_out(app, published=2, prefetch=1)
    keys = QueueKeys(app.broker.namespace)
    [orphan] = ready(app)
    client.lrem(keys.ready("lifecycle"), 1, orphan)
    client.sadd(keys.acks(app.broker.broker_id, "lifecycle"), orphan)
    # When its recovery looks, before the grace is over and after it
    waiting = Orphans(grace_ms=60_000)
    reclaim(app.broker, waiting)
    assert ready(app) == []
    reclaim(app.broker, Orphans(grace_ms=0))
    # Then only the one it never received is ready again
    assert ready(app) == [orphan]
    assert acked_by_us(app) == {handed.options["redis_message_id"].encode()}


def test_an_ack_that_met_an_outage_becomes_a_requeue(
    app: App, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a handled message whose ack met an outage (the change it
    # acknowledges may have died with a primary that failed over)
    consumer, handed = one_handed_out(app, published=1, prefetch=1)
    rid = handed.options["redis_message_id"]

    def away(queue: str, rid: str) -> None:
        raise redis.ConnectionError("Connection reset by peer")

    monkeypatch.setattr(app.broker, "coalesced_ack", away)
    with pytest.raises(ConnectionClosed):
        consumer.ack(handed)
    monkeypatch.undo()
    # When Dramatiq retries the ack
    consumer.ack(handed)
    # Then the message is ready to run again, body and all, and no longer held
    keys = QueueKeys(app.broker.namespace)
    assert ready(app) == [rid.encode()]
    assert client.hexists(keys.messages("lifecycle"), rid)
    assert acked_by_us(app) == set()
    assert app.broker.holdings.held(0) == set()

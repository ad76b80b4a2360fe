"""The publisher writes what Dramatiq itself would (workers/transport/
encoding.py, the publish hot path), and claims each event with its own
fingerprint (``Event.fingerprint``)."""

from __future__ import annotations

from dramatiq import Message

from events import Event
from store.events import claim_of
from subcycle.bootstrap import App
from tests.support import cancellation, event, purchase
from workers.publisher import BATCH
from workers.transport.inspect import Inspector


def on_queue(app: App, queue: str) -> list[tuple[str, bytes | None]]:
    return Inspector(app.client, app.broker.namespace).messages_on(queue)


def stored(app: App, queue: str) -> tuple[str, bytes]:
    [(rid, body)] = on_queue(app, queue)
    assert isinstance(body, bytes)
    return rid, body


def test_a_published_message_decodes_as_dramatiqs_own_with_the_event_as_its_argument(
    app: App,
) -> None:
    sent = purchase("S1", product='モバイル セキュリティ \\ "quoted"')
    app.publisher.publish([sent])
    rid, body = stored(app, "lifecycle")
    message = Message.decode(body)
    assert message.actor_name == "SubscriptionPurchased"
    assert message.queue_name == "lifecycle"
    assert message.options == {"redis_message_id": rid}
    assert message.args == (sent.wire(),)
    assert message.kwargs == {}


def test_a_delayed_message_carries_its_eta_on_the_delay_queue(app: App) -> None:
    app.publisher.publish_derived(
        [cancellation("S1", "2026-06-15T20:30:00+09:00")], delay_ms=60_000
    )
    rid, body = stored(app, "cancellations.DQ")
    message = Message.decode(body)
    assert message.queue_name == "cancellations.DQ"
    assert message.options["redis_message_id"] == rid
    assert message.options["eta"] > message.message_timestamp


def test_each_event_is_claimed_with_its_own_fingerprint(app: App) -> None:
    events: list[Event] = [
        purchase("S1", product="ウイルス対策"),
        event(
            "OtpRequested",
            phone="０９０-１２３４-５６７８",
            channel="sms",
            occurred_at="2026-06-01T09:00:00+09:00",
        ),
    ]
    app.publisher.publish(events)
    for sent in events:
        key, field = claim_of(app.store.keys, sent)
        claimed = app.client.hget(key, field)
        assert claimed is not None
        assert claimed.decode() == sent.fingerprint()
    # A code's claim is its own record, which expires with its attempt.
    assert claim_of(app.store.keys, events[1])[0] == app.store.keys.event(events[1].event_id)


def test_a_publish_of_many_batches_keeps_each_queues_order_and_answers_per_event(
    app: App,
) -> None:
    """Several script calls, one in flight while the next is encoded."""
    first = cancellation("S0", "2026-06-15T20:30:00+09:00", event_id="c-0")
    app.publisher.publish([first])
    events: list[Event] = []
    for i in range(2 * BATCH + 500):
        if i % 3 == 0:
            events.append(purchase(f"S{i}", event_id=f"p-{i}"))
        else:
            events.append(cancellation(f"S{i}", "2026-06-15T20:30:00+09:00", event_id=f"c-{i}"))
    events[BATCH + 7] = first  # the same event again: a duplicate
    reused = cancellation("S9", "2026-06-16T20:30:00+09:00", event_id="c-0")
    events[2 * BATCH + 1] = reused  # its id with another payload

    result = app.publisher.publish(events)

    assert (result.duplicates, result.reused) == (1, ["c-0"])
    assert result.enqueued == len(events) - 2
    for queue, type_ in ("lifecycle", "SubscriptionPurchased"), ("cancellations", "Cancellation"):
        bodies = [body for _, body in on_queue(app, queue)]
        got = [Message.decode(body).args[0]["event_id"] for body in bodies if body is not None]
        want = [e.event_id for e in events if e.type.startswith(type_) and e.event_id != "c-0"]
        if queue == "cancellations":
            want.insert(0, "c-0")  # published first, on its own
        assert got == want

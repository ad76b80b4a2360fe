"""The publisher writes what Dramatiq itself would, and claims the digest the
store computes: it builds both by hand because it is the publish hot path."""

from __future__ import annotations

import json

from dramatiq import Message

from events import Event
from store.codec import digest
from subcycle.bootstrap import App
from tests.support import cancellation, event, purchase


def stored(app: App, queue: str) -> tuple[str, bytes]:
    ns = app.broker.namespace
    [rid] = app.client.lrange(f"{ns}:{queue}", 0, -1)
    body = app.client.hget(f"{ns}:{queue}.msgs", rid)
    assert isinstance(body, bytes)
    return rid.decode(), body


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
    app.publisher.publish([cancellation("S1", "2026-06-15T20:30:00+09:00")], delay_ms=60_000)
    rid, body = stored(app, "cancellations.DQ")
    message = Message.decode(body)
    assert message.queue_name == "cancellations.DQ"
    assert message.options["redis_message_id"] == rid
    assert message.options["eta"] > message.message_timestamp


def test_the_claimed_digest_is_the_stores_digest(app: App) -> None:
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
        claimed = app.client.hget(app.store.keys.event(sent.event_id), "digest")
        assert claimed is not None
        assert claimed.decode() == digest(json.loads(json.dumps(sent.wire())))

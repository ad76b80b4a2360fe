"""Poison messages are moved aside with their reason; the consumer keeps going."""

from __future__ import annotations

import pytest

from events import Queue
from subcycle.bootstrap import App
from tests.poison_support import dead_letter_ids, put_message, put_raw, unacked
from tests.support import cancellation, purchase, run


@pytest.mark.parametrize("queue", [q.value for q in Queue])
def test_undecodable_bytes_are_moved_aside_and_the_queue_keeps_flowing(
    app: App, queue: str
) -> None:
    rid = put_raw(app, queue, b"\x80\x81 not a message")
    report = run(app, purchase("S1"))

    assert rid in dead_letter_ids(app, queue)
    [refused] = app.store.refusals.list(queue)
    assert refused.reason == "undecodable"
    assert refused.redis_message_id == rid
    assert refused.payload == {"raw": "\\x80\\x81 not a message"}
    assert unacked(app) == 0
    assert report.counts["processed"] >= 1
    assert app.store.subscriptions.get("S1") is not None


def test_a_message_for_an_unknown_actor_is_moved_aside(app: App) -> None:
    rid = put_message(app, "lifecycle", "drop_all_tables", args=[{}])
    run(app)
    [refused] = app.store.refusals.list("lifecycle")
    assert (refused.reason, refused.redis_message_id) == ("unknown_actor", rid)
    assert rid in dead_letter_ids(app, "lifecycle")


def test_a_message_on_another_actors_queue_is_moved_aside(app: App) -> None:
    put_message(app, "otp", "SubscriptionPurchased", args=[purchase("S9").wire()])
    run(app)
    [refused] = app.store.refusals.list("otp")
    assert refused.reason == "wrong_queue"
    assert app.store.subscriptions.get("S9") is None


def test_a_message_whose_options_name_a_callback_is_moved_aside_unrun(app: App) -> None:
    event = cancellation("S1", "2026-06-15T20:30:00+09:00")
    put_message(
        app, "cancellations", "CancellationRequested", [event.wire()], {}, {"on_success": "x"}
    )
    run(app, purchase("S1"))
    [refused] = app.store.refusals.list("cancellations")
    assert (refused.reason, refused.detail) == (
        "malformed_message",
        "options.on_success: not allowed",
    )
    sub = app.store.subscriptions.get("S1")
    assert sub is not None
    assert sub.license_type == "Monthly"


def test_arguments_the_actor_cannot_take_are_refused_without_a_retry(app: App) -> None:
    put_message(app, "lifecycle", "SubscriptionPurchased", [], {"evil": 1})
    report = run(app)
    [refused] = app.store.refusals.list("lifecycle")
    assert refused.reason == "bad_arguments"
    assert report.counts["retried"] == 0


def test_a_good_message_is_not_touched_by_the_guard(app: App) -> None:
    report = run(app, purchase("S1"), cancellation("S1", "2026-06-15T20:30:00+09:00"))
    assert report.counts["dead_lettered"] == 0
    assert app.store.refusals.list() == []
    sub = app.store.subscriptions.get("S1")
    assert sub is not None
    assert sub.license_type == "Cancelled"

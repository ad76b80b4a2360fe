"""Cancellation through the real path: publisher → Redis queue → Dramatiq
worker → store (SPEC section 4), on fakeredis and on the real Redis."""

from __future__ import annotations

from dramatiq import Message

from events import Event
from subcycle.bootstrap import App
from tests.support import cancellation, consent, event, purchase, run
from workers.gateway.outbox import OutboxGateway


def license_of(app: App, sub: str = "S1") -> dict[str, object]:
    record = app.store.subscriptions.get(sub)
    assert record is not None
    return {
        "license_type": record.license_type,
        "service_until": str(record.service_until),
        "auto_renewal": record.auto_renewal,
        "notice": record.notice,
    }


def redeliver(app: App, ev: Event) -> None:
    """Put the same event on its queue again, as a redelivery would (no publish dedupe)."""
    actor = app.actors[type(ev).__name__]
    app.broker.enqueue(
        Message(
            queue_name=actor.queue_name,
            actor_name=actor.actor_name,
            args=(ev.wire(),),
            kwargs={},
            options={},
        )
    )


def test_a_cancellation_at_23_59_59_jst_on_30_june_keeps_the_service_until_30_june(
    app: App,
) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-30T23:59:59+09:00"))
    assert license_of(app)["service_until"] == "2026-06-30"
    assert license_of(app)["license_type"] == "Cancelled"


def test_a_cancellation_at_15_00_utc_on_30_june_is_a_july_cancellation(app: App) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-30T15:00:00Z"))
    assert license_of(app)["service_until"] == "2026-07-31"


def test_a_july_cancellation_processed_before_a_june_one_leaves_the_june_one_standing(
    app: App,
) -> None:
    run(app, purchase("S1"))
    run(app, cancellation("S1", "2026-07-10T10:00:00+09:00", event_id="july"))
    run(app, cancellation("S1", "2026-06-10T10:00:00+09:00", event_id="june"))
    record = app.store.subscriptions.get("S1")
    assert record is not None
    assert str(record.service_until) == "2026-06-30"
    assert record.outcome_of("july").reason == "already_cancelled"  # type: ignore[union-attr]


def test_consent_and_auto_renewal_cancellation_give_the_later_one_in_either_order(app: App) -> None:
    run(
        app,
        purchase("A", plan="annual", starts_on="2025-08-01"),
        purchase("B", plan="annual", starts_on="2025-08-01"),
    )
    run(app, cancellation("A", "2026-07-02T10:00:00+09:00", "auto_renewal"))
    run(app, consent("A", "2026-07-01T10:00:00+09:00"))
    run(app, consent("B", "2026-07-01T10:00:00+09:00"))
    run(app, cancellation("B", "2026-07-02T10:00:00+09:00", "auto_renewal"))
    for sub in ("A", "B"):
        assert license_of(app, sub)["auto_renewal"] is False
        assert license_of(app, sub)["notice"] == "Automatic renewal service has been cancelled"


def test_cancelling_auto_renewal_on_a_monthly_cancels_the_monthly_service(app: App) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-05-20T10:00:00+09:00", "auto_renewal"))
    assert license_of(app)["license_type"] == "Cancelled"
    assert license_of(app)["service_until"] == "2026-05-31"


def test_a_refused_cancellation_is_kept_with_its_reason_and_changes_nothing(app: App) -> None:
    run(app, purchase("A", plan="annual", starts_on="2025-08-01"))
    before = license_of(app, "A")
    run(app, cancellation("A", "2026-07-05T10:00:00+09:00", "monthly_service", event_id="wrong"))
    assert license_of(app, "A") == before
    [refused] = app.store.refusals.list()
    assert (refused.event_id, refused.reason) == ("wrong", "not_monthly")


def test_no_message_is_sent_for_a_cancellation(app: App) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-15T10:00:00+09:00"))
    assert OutboxGateway(app.client, app.store.keys).messages() == []


def test_publishing_the_same_event_twice_has_the_effect_of_once(app: App) -> None:
    ev = cancellation("S1", "2026-06-15T10:00:00+09:00")
    run(app, purchase("S1"))
    first = app.publisher.publish([ev])
    second = app.publisher.publish([ev])
    assert (first.enqueued, second.enqueued, second.duplicates) == (1, 0, 1)
    run(app)
    record = app.store.subscriptions.get("S1")
    assert record is not None
    assert [h.event_id for h in record.history].count(ev.event_id) == 1


def test_a_redelivered_message_has_the_effect_of_once(app: App) -> None:
    ev = cancellation("S1", "2026-06-15T10:00:00+09:00")
    run(app, purchase("S1"), ev)
    redeliver(app, ev)
    report = run(app)
    assert report.counts["processed"] == 1
    record = app.store.subscriptions.get("S1")
    assert record is not None
    assert [h.event_id for h in record.history].count(ev.event_id) == 1
    assert app.store.refusals.list() == []


def test_the_same_event_id_with_another_payload_is_refused(app: App) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-15T10:00:00+09:00", event_id="c-1"))
    other = cancellation("S1", "2026-07-15T10:00:00+09:00", event_id="c-1")
    assert app.publisher.publish([other]).reused == ["c-1"]
    redeliver(app, other)  # a broken client writing straight to the queue
    report = run(app)
    assert report.counts["dead_lettered"] == 1
    assert license_of(app)["service_until"] == "2026-06-30"
    [refused] = app.store.refusals.list()
    assert refused.reason == "event_id_reused"


def test_a_cancellation_racing_its_purchase_waits_for_it(app: App) -> None:
    run(app, cancellation("S1", "2026-06-15T10:00:00+09:00"), purchase("S1"))
    assert license_of(app)["license_type"] == "Cancelled"


def test_a_cancellation_for_a_subscription_never_bought_is_dead_lettered_unknown_subscription(
    app: App,
) -> None:
    report = run(app, cancellation("NOPE", "2026-06-15T10:00:00+09:00", event_id="lost"))
    assert report.counts["retried"] == 2  # the settings fixture allows two retries
    assert report.counts["dead_lettered"] == 1
    [refused] = app.store.refusals.list()
    assert (refused.event_id, refused.reason, refused.dead_lettered) == (
        "lost",
        "unknown_subscription",
        True,
    )
    # A refused event does not mark its id as done: after a fix it goes through.
    run(app, purchase("NOPE"))
    assert (
        app.publisher.publish(
            [cancellation("NOPE", "2026-06-15T10:00:00+09:00", event_id="lost")]
        ).enqueued
        == 1
    )
    run(app)
    assert license_of(app, "NOPE")["license_type"] == "Cancelled"


def test_a_replayed_purchase_never_resets_the_record(app: App) -> None:
    bought = purchase("S1", event_id="buy-1")
    run(app, bought, cancellation("S1", "2026-06-15T10:00:00+09:00"))
    redeliver(app, bought)
    run(app)
    assert license_of(app)["license_type"] == "Cancelled"


def test_another_purchase_for_an_existing_id_is_refused_subscription_exists(app: App) -> None:
    run(app, purchase("S1", event_id="buy-1"))
    report = run(app, purchase("S1", event_id="buy-2", fee=990))
    assert report.counts["dead_lettered"] == 1
    [refused] = app.store.refusals.list()
    assert refused.reason == "subscription_exists"
    record = app.store.subscriptions.get("S1")
    assert record is not None
    assert record.monthly_fee_jpy == 550


def test_a_hostile_message_on_a_queue_is_refused_and_never_retried(app: App) -> None:
    app.broker.enqueue(
        Message(
            queue_name="cancellations",
            actor_name="CancellationRequested",
            args=({"type": "CancellationRequested", "event_id": "x"},),
            kwargs={},
            options={},
        )
    )
    report = run(app)
    assert (report.counts["dead_lettered"], report.counts["retried"]) == (1, 0)
    [refused] = app.store.refusals.list()
    assert refused.reason == "invalid_event"
    assert "subscription_id: field required" in refused.detail


def test_an_event_on_the_wrong_actor_is_refused(app: App) -> None:
    ev = event("RenewalConsentGiven", subscription_id="S1", occurred_at="2026-06-01T00:00:00Z")
    app.broker.enqueue(
        Message(
            queue_name="cancellations",
            actor_name="CancellationRequested",
            args=(ev.wire(),),
            kwargs={},
            options={},
        )
    )
    run(app)
    [refused] = app.store.refusals.list()
    assert refused.reason == "wrong_actor"

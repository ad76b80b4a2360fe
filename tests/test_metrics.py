"""Our Prometheus counters move with what the workers do."""

from __future__ import annotations

from subcycle.bootstrap import App
from tests.poison_support import put_raw
from tests.support import cancellation, purchase, run
from workers import metrics


def value(name: str, **labels: str) -> float:
    found = metrics.registry().get_sample_value(name, labels)
    return float(found or 0.0)


def test_processed_refused_and_poison_messages_are_counted(app: App) -> None:
    before = (
        value("subcycle_events_processed_total", type="SubscriptionPurchased"),
        value(
            "subcycle_events_refused_total",
            type="CancellationRequested",
            reason="unknown_subscription",
        ),
        value("subcycle_poison_messages_total", queue="billing", reason="undecodable"),
    )
    put_raw(app, "billing", b"\x00garbage")
    run(app, purchase("S1"), cancellation("S404", "2026-06-01T09:00:00+09:00"))
    after = (
        value("subcycle_events_processed_total", type="SubscriptionPurchased"),
        value(
            "subcycle_events_refused_total",
            type="CancellationRequested",
            reason="unknown_subscription",
        ),
        value("subcycle_poison_messages_total", queue="billing", reason="undecodable"),
    )
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]


def test_counters_others_call_are_exposed() -> None:
    before = value("subcycle_messages_sent_total", channel="sms", kind="renewal_reminder")
    metrics.message_sent("sms", "renewal_reminder")
    metrics.charge_recorded(amount_jpy=550)
    metrics.verification_outcome("ok")
    assert (
        value("subcycle_messages_sent_total", channel="sms", kind="renewal_reminder") == before + 1
    )
    assert value("subcycle_charged_jpy_total") >= 550
    assert value("subcycle_verifications_total", outcome="ok") >= 1

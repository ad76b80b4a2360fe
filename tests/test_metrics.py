"""Our Prometheus counters move with what the workers do."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from subcycle.bootstrap import App, build
from subcycle.settings import Settings
from tests.conftest import REAL_REDIS_URL, Clock, delete_prefixed, real_redis_or_skip
from tests.otp_support import PHONE, otp, with_secret
from tests.poison_support import put_raw
from tests.processes import free_port, start_worker, stop, wait_for
from tests.support import cancellation, purchase, run
from tests.test_billing import month_end
from workers import metrics


def value(name: str, **labels: str) -> float:
    found = metrics.registry().get_sample_value(name, labels)
    return float(found or 0.0)


def _processed_refused_poison() -> tuple[float, float, float]:
    return (
        value("subcycle_events_processed_total", type="SubscriptionPurchased"),
        value(
            "subcycle_events_refused_total",
            type="CancellationRequested",
            reason="unknown_subscription",
        ),
        value("subcycle_poison_messages_total", queue="billing", reason="undecodable"),
    )


def test_processed_refused_and_poison_messages_are_counted(app: App) -> None:
    before = _processed_refused_poison()
    put_raw(app, "billing", b"\x00garbage")
    run(app, purchase("S1"), cancellation("S404", "2026-06-01T09:00:00+09:00"))
    after = _processed_refused_poison()
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]


def test_a_month_end_close_counts_its_charges_and_their_yen(app: App) -> None:
    before = value("subcycle_charges_recorded_total"), value("subcycle_charged_jpy_total")
    run(app, purchase("S1"), purchase("S2", fee=330), month_end("2026-06"))
    run(app, month_end("2026-06", event_id="month-end:2026-06:again"))  # adds nothing
    after = value("subcycle_charges_recorded_total"), value("subcycle_charged_jpy_total")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 880)


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


@pytest.mark.slow
def test_a_worker_process_serves_dramatiqs_metrics_and_ours_on_one_port(
    unique: str, tmp_path: Path
) -> None:
    client = real_redis_or_skip()
    port = free_port()
    env = {
        "SUBCYCLE_REDIS_URL": REAL_REDIS_URL,
        "SUBCYCLE_KEY_PREFIX": f"t{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"tq{unique}",
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "dramatiq_prom_port": str(port),
        "dramatiq_prom_db": str(tmp_path / "prom"),
    }
    (tmp_path / "prom").mkdir()
    app = build(
        Settings(redis_url=REAL_REDIS_URL, key_prefix=f"t{unique}:", queue_namespace=f"tq{unique}"),
        client=client,
    )
    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        app.publisher.publish([purchase("S1")])
        wait_for(lambda: app.store.subscriptions.get("S1") is not None, 60)

        def scraped() -> str:
            # The exporter is a process the dramatiq master forks; it may start
            # listening after the worker has already processed the purchase.
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    return str(answer.read().decode())
            except OSError:
                return ""

        wait_for(
            lambda: 'subcycle_events_processed_total{type="SubscriptionPurchased"}' in scraped(), 30
        )
        page = scraped()
        assert "dramatiq_messages_total" in page
    finally:
        stop(worker)
        delete_prefixed(client, f"t{unique}:", f"tq{unique}:")


def test_a_month_end_close_counts_its_charges(app: App) -> None:
    before = value("subcycle_charges_recorded_total")
    run(app, purchase("S1"), purchase("S2"))
    run(app, month_end("2026-06"))
    assert value("subcycle_charges_recorded_total") - before == 2


def test_every_verification_counts_its_outcome(make_app: Callable[..., App], clock: Clock) -> None:
    app = with_secret(make_app)
    before = value("subcycle_verifications_total", outcome="no_active_code")
    otp(app).verify(PHONE, "123456", clock.now)
    assert value("subcycle_verifications_total", outcome="no_active_code") == before + 1

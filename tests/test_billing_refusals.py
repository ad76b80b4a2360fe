"""What a close refuses, what the ledger refuses, and what a close reports."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from store.ledger import PeriodNotClosed
from subcycle.bootstrap import App
from tests.support import purchase, run
from tests.test_billing import month_end


def test_a_close_of_a_month_that_has_not_ended_is_refused_and_changes_nothing(app: App) -> None:
    run(app, purchase("S1"))
    report = run(app, month_end("2026-06", at="2026-06-30T23:59:59+09:00"))
    assert report.counts["dead_lettered"] == 1
    [refusal] = app.store.refusals.list()
    assert refusal.reason == "period_not_ended"
    assert app.store.billing.status("2026-06") is None
    assert app.store.billing.started_periods() == []
    assert app.store.ledger.count("2026-06") == 0


def test_a_refused_close_can_be_sent_again_once_the_month_has_ended(app: App) -> None:
    run(app, purchase("S1"), month_end("2026-06", at="2026-06-30T23:00:00+09:00", event_id="c1"))
    run(app, month_end("2026-06", at="2026-07-01T00:00:00+09:00", event_id="c1"))
    assert app.store.ledger.count("2026-06") == 1


def test_the_ledger_of_a_month_never_closed_is_refused(app: App) -> None:
    with pytest.raises(PeriodNotClosed, match="period_not_closed"):
        list(app.store.ledger.charges("2026-06"))


def test_the_ledger_of_a_month_still_closing_is_refused(app: App) -> None:
    run(app, purchase("S1"))
    app.store.billing.register_close("2026-06", "run-1", app.deps.clock())
    app.store.billing.close_shard("2026-06", 0, "run-1")
    with pytest.raises(PeriodNotClosed, match="still closing"):
        list(app.store.ledger.charges("2026-06"))


def test_a_close_logs_its_progress_in_shards_done_over_total(app: App) -> None:
    run(app, purchase("S1"))
    with capture_logs() as logs:
        run(app, month_end("2026-06"))
    progress = sorted(e["progress"] for e in logs if e["event"] == "billing_shard_closed")
    assert len(progress) == 64
    assert "64/64" in progress
    [closed] = [e for e in logs if e["event"] == "billing_cycle_closed"]
    assert closed["charges"] == 1


def test_the_ledger_lists_phone_period_and_amount(app: App) -> None:
    run(app, purchase("S1", phone="090-1111-2222", fee=330), month_end("2026-06"))
    [charge] = list(app.store.ledger.charges("2026-06"))
    assert (charge.subscription_id, charge.phone, charge.period, charge.amount_jpy) == (
        "S1",
        "+819011112222",
        "2026-06",
        330,
    )

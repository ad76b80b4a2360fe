"""Month-end billing (SPEC section 5): who is charged for which month."""

from __future__ import annotations

from events import Event
from subcycle.bootstrap import App
from tests.support import cancellation, consent, event, purchase, run


def month_end(period: str, *, at: str | None = None, event_id: str | None = None) -> Event:
    year, month = int(period[:4]), int(period[5:])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return event(
        "BillingCycleClosed",
        period=period,
        occurred_at=at or f"{year:04d}-{month:02d}-01T00:00:00+09:00",
        event_id=event_id or f"month-end:{period}",
    )


def charged(app: App, period: str) -> dict[str, int]:
    return {c.subscription_id: c.amount_jpy for c in app.store.ledger.charges(period)}


def test_a_monthly_started_on_the_last_day_of_a_month_is_charged_for_that_month(app: App) -> None:
    run(app, purchase("S1", starts_on="2026-05-31"), month_end("2026-05"))
    assert charged(app, "2026-05") == {"S1": 550}


def test_a_cancellation_at_23_59_59_jst_on_30_june_is_billed_through_june(app: App) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-30T23:59:59+09:00"))
    run(app, month_end("2026-06"), month_end("2026-07"))
    assert charged(app, "2026-06") == {"S1": 550}
    assert charged(app, "2026-07") == {}


def test_a_cancellation_at_15_00_utc_on_30_june_is_a_july_one_billed_through_july(
    app: App,
) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-30T15:00:00Z"))
    run(app, month_end("2026-07"), month_end("2026-08"))
    assert charged(app, "2026-07") == {"S1": 550}
    assert charged(app, "2026-08") == {}


def test_a_monthly_cancelled_in_june_shows_june_as_its_last_billed_period(app: App) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-15T20:30:00+09:00"))
    run(app, month_end("2026-06"), month_end("2026-07"))
    sub = app.store.subscriptions.get("S1")
    assert sub is not None
    assert sub.last_billed_period == "2026-06"


def test_an_annual_switched_to_monthly_mid_month_is_charged_the_full_fee_for_that_month(
    app: App,
) -> None:
    # Term 2025-07-15 .. 2026-07-14; monthly from 2026-07-15. No expiry tick has run.
    run(
        app,
        purchase("A1", plan="annual", starts_on="2025-07-15", fee=880),
        consent("A1", "2026-07-01T09:00:00+09:00"),
    )
    run(app, month_end("2026-07"))
    assert charged(app, "2026-07") == {"A1": 880}


def test_an_annual_that_expires_is_never_charged(app: App) -> None:
    run(app, purchase("A1", plan="annual", starts_on="2025-07-15"))
    run(app, month_end("2026-07"), month_end("2026-08"))
    assert charged(app, "2026-07") == {}
    assert charged(app, "2026-08") == {}


def test_closing_the_same_month_twice_never_duplicates_a_charge(app: App) -> None:
    run(app, purchase("S1"), purchase("S2", fee=330), month_end("2026-06"))
    run(app, month_end("2026-06", event_id="month-end:2026-06:again"))
    assert charged(app, "2026-06") == {"S1": 550, "S2": 330}
    assert app.store.ledger.count("2026-06") == 2


def test_two_closes_of_one_month_racing_never_duplicate_a_charge(app: App) -> None:
    subs = [purchase(f"S{i}") for i in range(40)]
    run(app, *subs)
    run(
        app,
        month_end("2026-06", event_id="close-a"),
        month_end("2026-06", event_id="close-b"),
        threads=8,
    )
    assert app.store.ledger.count("2026-06") == 40


def test_a_redelivered_shard_adds_no_charge(app: App) -> None:
    run(app, purchase("S1"), month_end("2026-06"))
    for shard in range(64):
        app.deps.send_task("BillingShard", ("2026-06", shard, "month-end:2026-06"))
    report = run(app)
    assert report.counts["processed"] == 64
    assert app.store.ledger.count("2026-06") == 1


def test_an_interrupted_close_finishes_when_its_messages_are_redelivered(app: App) -> None:
    run(app, *(purchase(f"S{i}") for i in range(20)))
    app.store.billing.register_close("2026-06", "month-end:2026-06", app.deps.clock())
    for shard in range(10):  # the worker died after ten shards, before the rest were sent
        app.store.billing.close_shard("2026-06", shard, "month-end:2026-06")
    status = app.store.billing.status("2026-06")
    assert status is not None
    assert (status.state, status.done) == ("closing", 10)
    run(app, month_end("2026-06"))
    assert app.store.ledger.count("2026-06") == 20
    status = app.store.billing.status("2026-06")
    assert status is not None
    assert (status.state, status.done, status.total) == ("closed", 64, 64)


def test_a_purchase_recorded_after_its_month_closed_is_caught_up_at_the_next_close(
    app: App,
) -> None:
    run(app, purchase("S1"), month_end("2026-05"))
    run(app, purchase("LATE", starts_on="2026-05-20", at="2026-06-10T10:00:00+09:00"))
    run(app, month_end("2026-06"))
    assert charged(app, "2026-05") == {"S1": 550, "LATE": 550}
    assert charged(app, "2026-06") == {"S1": 550, "LATE": 550}


def test_months_before_the_first_close_are_never_billed(app: App) -> None:
    run(app, purchase("S1", starts_on="2026-03-01"), month_end("2026-05"))
    assert app.store.billing.started_periods() == ["2026-05"]
    assert app.store.ledger.count("2026-03") == 0
    assert app.store.ledger.count("2026-04") == 0
    assert charged(app, "2026-05") == {"S1": 550}


def test_a_switch_recorded_after_its_month_closed_is_caught_up_once(app: App) -> None:
    # Term 2025-06-10 .. 2026-06-09; consent was given in time but reached
    # subcycle only after June had been closed.
    run(app, purchase("A1", plan="annual", starts_on="2025-06-10"), month_end("2026-06"))
    assert charged(app, "2026-06") == {}
    run(app, consent("A1", "2026-06-01T09:00:00+09:00"))
    run(app, month_end("2026-07"), month_end("2026-08"))
    assert charged(app, "2026-06") == {"A1": 550}
    assert charged(app, "2026-07") == {"A1": 550}
    assert app.store.ledger.count("2026-06") == 1


def test_a_month_closed_late_after_a_later_month_loses_no_catch_up(app: App) -> None:
    run(app, purchase("S1"), month_end("2026-07"))
    run(app, purchase("LATE", starts_on="2026-07-05", at="2026-08-02T10:00:00+09:00"))
    run(app, month_end("2026-06"))  # an operator backfills June after July
    assert charged(app, "2026-07") == {"S1": 550, "LATE": 550}
    assert charged(app, "2026-06") == {"S1": 550}


def test_each_shard_reports_the_yen_of_its_new_charges_once(app: App) -> None:
    run(app, purchase("S1"), purchase("S2", fee=330), month_end("2026-05"))
    run(app, purchase("LATE", starts_on="2026-05-20", fee=880, at="2026-06-10T10:00:00+09:00"))
    app.store.billing.register_close("2026-06", "run-1", app.deps.clock())
    first = [app.store.billing.close_shard("2026-06", s, "run-1") for s in range(64)]
    # June: 550 + 330 + 880; May caught up: LATE's 880.
    assert sum(r.amount_jpy for r in first) == 550 + 330 + 880 + 880
    assert sum(r.charged + r.caught_up for r in first) == 4
    again = [app.store.billing.close_shard("2026-06", s, "run-1") for s in range(64)]
    assert sum(r.amount_jpy for r in again) == 0

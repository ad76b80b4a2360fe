"""Expiry reminders (SPEC section 6): which tick sends which reminder, to whom,
once; and what is checked again when the SMS leaves.

The annual term of every test starts 2025-08-01 and ends (expires_on)
2026-07-31, so the 30-day reminder is due on 2026-07-01 and the 7-day one on
2026-07-24. Offsets are the default 30 and 7 days.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from events import SubscriptionExpiringSoon
from subcycle.bootstrap import App
from tests.conftest import Clock
from tests.support import PHONE, cancellation, consent, event, purchase, run
from workers.drain import DrainReport
from workers.gateway.outbox import OutboxGateway
from workers.handlers.reminders import send_reminder

EXPIRES_ON = "2026-07-31"


def annual(sub: str = "A1", starts_on: str = "2025-08-01", **extra: Any) -> Any:
    return purchase(sub, plan="annual", starts_on=starts_on, **extra)


def tick(
    app: App, clock: Clock, day: str, *, hour: int = 10, event_id: str | None = None
) -> DrainReport:
    """The daily tick of ``day`` at ``hour`` JST; workers run while the clock says so."""
    at = datetime.fromisoformat(f"{day}T{hour:02d}:00:00+09:00")
    clock.now = at
    tick_id = event_id or f"expiry:{day}"
    return run(app, event("ExpiryTick", event_id=tick_id, occurred_at=at.isoformat()))


def sent(app: App) -> list[dict[str, Any]]:
    rows = OutboxGateway(app.client, app.store.keys).messages()
    return [r for r in rows if r["kind"] == "renewal_reminder"]


def offsets_sent(app: App) -> list[str]:
    return [r["message_id"].rsplit(":", 1)[1] for r in sent(app)]


def reminder_of(*, offset: int, at: str, days_left: int) -> SubscriptionExpiringSoon:
    """A1's reminder for its term ending 2026-07-31, as a tick at ``at`` would send it."""
    return SubscriptionExpiringSoon(
        event_id=f"reminder:A1:{EXPIRES_ON}:{offset}",
        occurred_at=datetime.fromisoformat(at),
        subscription_id="A1",
        expires_on=date(2026, 7, 31),
        days_left=days_left,
    )


def test_the_30_day_reminder_goes_out_on_the_day_30_days_before_expiry(
    app: App, clock: Clock
) -> None:
    run(app, annual())
    tick(app, clock, "2026-06-30")
    assert sent(app) == []

    tick(app, clock, "2026-07-01")

    [message] = sent(app)
    assert message["to"] == PHONE
    assert message["channel"] == "sms"
    assert message["message_id"] == f"reminder:A1:{EXPIRES_ON}:30"
    assert "2026年7月31日" in message["text"]
    assert "https://sc.example.jp/renew" in message["text"]


def test_the_7_day_reminder_follows_and_nothing_is_sent_in_between(app: App, clock: Clock) -> None:
    run(app, annual())
    for day in ("2026-07-01", "2026-07-02", "2026-07-23"):
        tick(app, clock, day)
    assert offsets_sent(app) == ["30"]

    for day in ("2026-07-24", "2026-07-25", "2026-07-31"):
        tick(app, clock, day)

    assert offsets_sent(app) == ["30", "7"]


def test_a_term_first_seen_inside_the_7_day_window_gets_only_the_7_day_reminder(
    app: App, clock: Clock
) -> None:
    run(app, annual())
    tick(app, clock, "2026-07-24")
    assert offsets_sent(app) == ["7"]


def test_the_last_day_of_the_term_still_sends_a_reminder_not_yet_sent(
    app: App, clock: Clock
) -> None:
    run(app, annual("A1"), annual("A2", phone="+818012345678", starts_on="2025-07-31"))
    # A2's term ended on 2026-07-30: the day after, it is past reminding.
    tick(app, clock, EXPIRES_ON)
    assert [r["message_id"] for r in sent(app)] == [f"reminder:A1:{EXPIRES_ON}:7"]


def test_after_a_ten_day_outage_only_the_nearest_reminder_is_sent(app: App, clock: Clock) -> None:
    run(app, annual())
    tick(app, clock, "2026-07-01")
    tick(app, clock, "2026-07-18")
    # The scheduler is down from 2026-07-19 to 2026-07-28: the 7-day day passes.
    tick(app, clock, "2026-07-29")
    assert offsets_sent(app) == ["30", "7"]
    assert sent(app)[1]["message_id"] == f"reminder:A1:{EXPIRES_ON}:7"


def test_a_tick_that_missed_both_reminder_days_sends_one_reminder_not_a_burst(
    app: App, clock: Clock
) -> None:
    run(app, annual())
    tick(app, clock, "2026-06-25")
    tick(app, clock, "2026-07-26")
    assert offsets_sent(app) == ["7"]
    tick(app, clock, "2026-07-27")
    assert offsets_sent(app) == ["7"]


def test_a_tick_that_runs_twice_sends_one_reminder(app: App, clock: Clock) -> None:
    run(app, annual())
    tick(app, clock, "2026-07-01")
    tick(app, clock, "2026-07-01", hour=11, event_id="expiry:2026-07-01:by-hand")
    assert offsets_sent(app) == ["30"]


def test_no_reminder_is_sent_after_renewal_consent(app: App, clock: Clock) -> None:
    run(app, annual(), consent("A1", "2026-06-20T12:00:00+09:00"))
    tick(app, clock, "2026-07-01")
    tick(app, clock, "2026-07-24")
    assert sent(app) == []


def test_no_reminder_is_sent_after_auto_renewal_was_cancelled(app: App, clock: Clock) -> None:
    run(
        app,
        annual(),
        consent("A1", "2026-06-20T12:00:00+09:00"),
        cancellation("A1", "2026-06-21T12:00:00+09:00", kind="auto_renewal"),
    )
    tick(app, clock, "2026-07-01")
    assert sent(app) == []


def test_consent_recorded_after_the_tick_stops_the_reminder_when_it_is_sent(
    app: App, clock: Clock
) -> None:
    run(app, annual(), consent("A1", "2026-07-01T10:05:00+09:00"))
    # The tick at 10:00 chose the reminder before the consent was known.
    reminder = reminder_of(offset=30, at="2026-07-01T10:00:00+09:00", days_left=30)
    clock.now = datetime.fromisoformat("2026-07-01T10:10:00+09:00")
    run(app, reminder)
    assert sent(app) == []


def test_reminders_speak_the_locale_of_the_subscription(app: App, clock: Clock) -> None:
    run(app, annual(locale="en"))
    tick(app, clock, "2026-07-01")
    [message] = sent(app)
    assert message["text"].startswith("Your annual contract ends on July 31, 2026.")
    assert message["text"].isascii()


def test_a_reminder_due_at_night_waits_for_the_morning_tick(app: App, clock: Clock) -> None:
    run(app, annual())
    tick(app, clock, "2026-07-01", hour=22)
    assert sent(app) == []
    tick(app, clock, "2026-07-02", hour=10)
    assert offsets_sent(app) == ["30"]


def test_a_reminder_dated_at_night_is_not_sent_and_its_id_is_released(
    app: App, clock: Clock
) -> None:
    run(app, annual())
    reminder = reminder_of(offset=30, at="2026-07-01T22:30:00+09:00", days_left=30)
    # Judged at the event's time, whatever the wall clock says.
    clock.now = datetime.fromisoformat("2026-07-02T12:00:00+09:00")
    assert send_reminder(reminder, app.deps) is False
    assert sent(app) == []
    assert app.store.events.status(reminder.event_id) is None


def test_a_reminder_dated_after_the_term_ended_is_not_sent(app: App, clock: Clock) -> None:
    run(app, annual())
    reminder = reminder_of(offset=7, at="2026-08-01T10:00:00+09:00", days_left=0)
    assert send_reminder(reminder, app.deps) is False
    assert sent(app) == []


def test_a_reminder_processed_late_is_judged_at_its_tick_not_the_wall_clock(
    app: App, clock: Clock
) -> None:
    run(app, annual())
    reminder = reminder_of(offset=7, at="2026-07-30T10:00:00+09:00", days_left=1)
    clock.now = datetime.fromisoformat("2026-11-26T03:00:00+09:00")
    assert send_reminder(reminder, app.deps) is True
    assert sent(app)[0]["sent_at"] == "2026-11-26T03:00:00+09:00"


def test_offsets_are_configurable(make_app: Any, clock: Clock) -> None:
    app = make_app(reminder_offsets_days=(14, 3, 1))
    run(app, annual())
    for day in ("2026-07-17", "2026-07-24", "2026-07-28", "2026-07-30"):
        tick(app, clock, day)
    assert offsets_sent(app) == ["14", "3", "1"]

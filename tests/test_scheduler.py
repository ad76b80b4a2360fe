"""The scheduler: which ticks it enqueues, when, and from which replica."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest
from dramatiq import Message

from events import JST
from scheduler.lease import Lease
from scheduler.service import SchedulerService
from scheduler.ticks import expiry_tick_day, months_to_close
from subcycle.bootstrap import App
from subcycle.cli import main
from subcycle.commands.tick import ticker_for
from tests.conftest import Clock
from tests.support import purchase, run
from tests.test_billing import month_end


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(JST)


def queued(app: App, queue: str) -> list[dict[str, Any]]:
    """The events waiting on a queue, in queue order."""
    ns = app.settings.queue_namespace
    ids = app.client.lrange(f"{ns}:{queue}", 0, -1)
    bodies = app.client.hmget(f"{ns}:{queue}.msgs", ids) if ids else []
    return [Message.decode(body).args[0] for body in bodies]


def service(app: App, holder: str, ttl_ms: int = 60_000) -> SchedulerService:
    lease = Lease(app.client, f"{app.settings.key_prefix}scheduler:lease", holder, ttl_ms)
    return SchedulerService(ticker_for(app.core), lease)


def test_on_its_very_first_start_it_closes_only_the_previous_month() -> None:
    assert months_to_close(jst("2026-09-10T12:00:00+09:00"), None, [], None) == ["2026-08"]


def test_the_first_month_to_close_on_the_very_first_start_is_configurable() -> None:
    now = jst("2026-09-10T12:00:00+09:00")
    assert months_to_close(now, None, [], "2026-06") == ["2026-06", "2026-07", "2026-08"]


def test_after_a_completed_close_it_closes_every_later_ended_month_oldest_first() -> None:
    now = jst("2027-02-01T00:00:00+09:00")
    assert months_to_close(now, "2026-10", ["2026-10"], None) == ["2026-11", "2026-12", "2027-01"]


def test_the_month_end_is_judged_in_jst() -> None:
    # 2026-06-30T15:00Z is 1 July 00:00 JST: June has ended.
    assert months_to_close(jst("2026-06-30T15:00:00Z"), "2026-05", [], None) == ["2026-06"]
    assert months_to_close(jst("2026-06-30T14:59:59Z"), "2026-05", [], None) == []


def test_an_expiry_tick_caught_up_before_the_tick_time_carries_yesterdays_date() -> None:
    assert expiry_tick_day(jst("2026-07-02T08:00:00+09:00"), time(10)) == date(2026, 7, 1)
    assert expiry_tick_day(jst("2026-07-02T10:00:00+09:00"), time(10)) == date(2026, 7, 2)


def test_missed_month_ends_are_enqueued_on_start_oldest_first(app: App, clock: Clock) -> None:
    run(app, purchase("S1"), month_end("2026-05"))
    clock.now = jst("2026-09-10T12:00:00+09:00")
    service(app, "replica-a").keep_lease()
    closes = [e for e in queued(app, "billing") if e["type"] == "BillingCycleClosed"]
    assert [e["event_id"] for e in closes] == [
        "month-end:2026-06",
        "month-end:2026-07",
        "month-end:2026-08",
    ]
    assert {e["occurred_at"] for e in closes} == {"2026-09-10T12:00:00+09:00"}


def test_the_catch_up_also_enqueues_the_latest_expiry_tick(app: App, clock: Clock) -> None:
    clock.now = jst("2026-09-10T12:00:00+09:00")
    service(app, "replica-a").keep_lease()
    ticks = [e for e in queued(app, "lifecycle") if e["type"] == "ExpiryTick"]
    assert [e["event_id"] for e in ticks] == ["expiry:2026-09-10"]


def test_a_second_replica_waits_while_the_lease_is_held(app: App, clock: Clock) -> None:
    clock.now = jst("2026-09-10T12:00:00+09:00")
    a, b = service(app, "replica-a"), service(app, "replica-b")
    a.keep_lease()
    b.keep_lease()
    b.month_end_job()
    assert (a.active, b.active) == (True, False)
    assert len(queued(app, "billing")) == 1


def test_a_waiting_replica_takes_over_and_catches_up_when_the_lease_lapses(
    app: App, clock: Clock
) -> None:
    clock.now = jst("2026-09-10T12:00:00+09:00")
    a, b = service(app, "replica-a"), service(app, "replica-b")
    a.keep_lease()
    app.client.delete(a.lease.key)  # the TTL lapsed: replica-a stopped renewing
    clock.now = jst("2026-10-01T00:05:00+09:00")
    b.keep_lease()
    assert b.active
    closes = [e["event_id"] for e in queued(app, "billing")]
    assert closes == ["month-end:2026-08", "month-end:2026-09"]


def test_a_repeated_month_end_tick_enqueues_nothing_new(app: App, clock: Clock) -> None:
    clock.now = jst("2026-09-10T12:00:00+09:00")
    ticker = ticker_for(app.core)
    ticker.month_end()
    ticker.month_end()
    assert len(queued(app, "billing")) == 1


@pytest.mark.parametrize("tick", ["expiry", "month-end"])
def test_a_tick_time_without_an_offset_is_a_usage_error_naming_now(
    tick: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tick", tick, "--now", "2026-07-01T00:00:00"]) == 2
    assert "--now" in capsys.readouterr().err

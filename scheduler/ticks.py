"""What a tick enqueues, and nothing more (STYLE 9): an ``ExpiryTick`` for the
day, and a ``BillingCycleClosed`` for every month not yet closed, oldest first.

A tick is a wake-up: the actors find what is due at its time, so a late,
missed or doubled tick is harmless. Event ids are deterministic
(``expiry:YYYY-MM-DD``, ``month-end:YYYY-MM``) and the publisher drops a
duplicate id, so two replicas, a restart or an operator's tick never enqueue
one twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import structlog

from events import JST, BillingCycleClosed, ExpiryTick
from events.ids import expiry_tick_id, month_end_id
from store.billing import RedisBilling
from store.calendar import jst_date, period_from_index, period_index, period_of
from workers.publisher import Publisher

log = structlog.get_logger(__name__)


def previous_period(now: datetime) -> str:
    return period_from_index(period_index(period_of(jst_date(now))) - 1)


def expiry_tick_day(now: datetime, at: time) -> date:
    """The day of the latest scheduled expiry tick at or before ``now``.

    Catching up at 08:00 a tick missed yesterday at 10:00 sends it under
    yesterday's id, so today's 10:00 tick is not mistaken for a duplicate.
    """
    local = now.astimezone(JST)
    return local.date() if local.time() >= at else local.date() - timedelta(days=1)


def months_to_close(
    now: datetime, last_closed: str | None, started: list[str], first_period: str | None
) -> list[str]:
    """Every month after the last completed close up to the previous month.

    With no completed close yet, start where the first close started, or else
    (the very first start) at ``first_period``, by default the previous month.
    """
    newest = period_index(previous_period(now))
    if last_closed is not None:
        oldest = period_index(last_closed) + 1
    elif started:
        oldest = period_index(min(started))
    else:
        oldest = period_index(first_period) if first_period else newest
    return [period_from_index(i) for i in range(oldest, newest + 1)]


@dataclass(frozen=True)
class Ticker:
    publisher: Publisher
    billing: RedisBilling
    clock: Callable[[], datetime]
    expiry_at: time = time(10, 0)
    first_period: str | None = None

    def expiry(self, now: datetime | None = None) -> bool:
        """Enqueue the expiry tick; False when that day's tick was already sent."""
        now = now or self.clock()
        day = expiry_tick_day(now, self.expiry_at)
        tick = ExpiryTick(event_id=expiry_tick_id(day), occurred_at=now)
        enqueued = self.publisher.publish_derived([tick]).enqueued == 1
        log.info("expiry_tick", event_id=tick.event_id, enqueued=enqueued)
        return enqueued

    def month_end(self, now: datetime | None = None) -> list[str]:
        """Enqueue the close of every month not yet closed; return those months."""
        now = now or self.clock()
        billing = self.billing
        last, started = billing.last_closed_period(), billing.started_periods()
        due = months_to_close(now, last, started, self.first_period)
        closes = [
            BillingCycleClosed(event_id=month_end_id(p), occurred_at=now, period=p) for p in due
        ]
        result = self.publisher.publish_derived(closes)
        log.info("month_end_tick", periods=due, enqueued=result.enqueued)
        return due

    def catch_up(self) -> None:
        now = self.clock()
        self.month_end(now)
        self.expiry(now)


def next_ticks(now: datetime, expiry_at: time) -> tuple[datetime, datetime]:
    """When the scheduler's two jobs fire next after ``now`` (JST): the daily
    expiry tick at ``expiry_at``, the month-end tick at 00:00 on the 1st."""
    local = now.astimezone(JST)
    expiry = datetime.combine(local.date(), expiry_at, tzinfo=JST)
    if expiry <= local:
        expiry += timedelta(days=1)
    first = date(local.year + local.month // 12, local.month % 12 + 1, 1)
    return expiry, datetime.combine(first, time(0), tzinfo=JST)

"""Business time: JST dates, billing months and the Civil Code's annual term.

Every function here is pure: time comes in as an argument, never from a clock.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from events import JST

END_OF_TIME = datetime(9999, 12, 31, tzinfo=JST)


def jst_date(moment: datetime) -> date:
    return moment.astimezone(JST).date()


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a billing month ``YYYY-MM``."""
    first = date(int(period[:4]), int(period[5:7]), 1)
    return first, month_end(first)


def period_index(period: str) -> int:
    """Months since year 0, so periods sort and subtract as integers."""
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def month_index(day: date) -> int:
    """``period_index(period_of(day))``, without the text."""
    return day.year * 12 + day.month - 1


def period_from_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def next_period(period: str) -> str:
    return period_from_index(period_index(period) + 1)


def period_start(period: str) -> datetime:
    """The first instant of a billing month, 00:00 JST on the 1st."""
    first, _ = period_bounds(period)
    return datetime(first.year, first.month, 1, tzinfo=JST)


def term_expires_on(starts_on: date, term_years: int) -> date:
    """Last day of an annual term (Civil Code art. 143).

    The term ends the day before the corresponding day ``term_years`` later;
    where that month has no corresponding day (29 February), it ends on the
    month's last day.
    """
    year = starts_on.year + term_years
    last_day = calendar.monthrange(year, starts_on.month)[1]
    if starts_on.day > last_day:
        return date(year, starts_on.month, last_day)
    return date(year, starts_on.month, starts_on.day) - timedelta(days=1)

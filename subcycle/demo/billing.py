"""Chapter: month-end billing. The scheduler's month-end tick closes each
month as it ends; a monthly cancelled in June is charged for June and not for
July; an annual that switched to monthly is charged from its first month."""

from __future__ import annotations

from datetime import datetime, time

from events import JST
from scheduler.ticks import Ticker
from subcycle.demo.story import Story

CLOSES = ("2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01")


def tell(story: Story) -> None:
    story.chapter("Month-end billing: in arrears, per JST month, no proration")
    app = story.app
    ticker = Ticker(
        app.publisher, app.store.billing, app.deps.clock, time(10), first_period="2026-05"
    )
    story.say("subcycle went live at the end of May: no month before its first close is billed")
    for day in CLOSES:
        now = _midnight(day)
        periods = ticker.month_end(now)
        story.console.print(
            f"  [cyan]{now.isoformat()}[/cyan]  → the scheduler's month-end tick closes "
            + ", ".join(periods)
        )
        story.settle()
        for period in periods:
            _show_ledger(story, period)
    story.license("SUB-M-1", "service_until", "last_billed_period")
    story.say("cancelled in June: charged for June, and billing stopped from July")


def _midnight(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=JST)


def _show_ledger(story: Story, period: str) -> None:
    charges = sorted(story.app.store.ledger.charges(period), key=lambda c: c.subscription_id)
    total = sum(c.amount_jpy for c in charges)
    story.say(f"[green]ledger {period}[/green]: {len(charges)} charge(s), ¥{total:,}")
    for c in charges:
        story.say(f"    {c.subscription_id:<14} {c.phone}  ¥{c.amount_jpy:,}")

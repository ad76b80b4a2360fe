"""The daily expiry tick's fan-out (SPEC sections 3, 6 and 10).

An ``ExpiryTick`` is a wake-up: it processes everything due on or before its
JST date, so a late, missed or doubled tick is harmless. Work is found
through date-ordered indexes (store/expiry.py) and taken in batches: each
batch's follow-ups are enqueued under deterministic ids first, then the
batch's index entries move on. A worker dying in between redelivers the
tick, which enqueues the same ids again; the publisher drops them.

Reminders follow SPEC section 6: on tick date D the offsets that apply to a
term ending E are those with E - offset <= D <= E, and only the smallest of
them is sent. An entry then waits for the next smaller offset, so a tick
after an outage sends one reminder, the current one, and never the ones the
outage skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

import structlog

from events import JST, AnnualTermEnded, ExpiryTick, Queue, SubscriptionExpiringSoon, ids
from events.ids import reminder_id, term_end_id
from events.reasons import Reason
from store.base import Expiry
from store.calendar import jst_date
from store.expiry import Advance, PendingReminder
from store.refusals import refused
from workers.deps import Deps

log = structlog.get_logger(__name__)

T = TypeVar("T")

BATCH = 2_000
MAX_BATCHES = 100_000  # a guard against a loop that would never end, not a limit in practice


@dataclass
class TickReport:
    term_ends: int = 0
    reminders: int = 0
    duplicates: int = 0


def on_expiry_tick(event: ExpiryTick, deps: Deps) -> TickReport:
    today = jst_date(event.occurred_at)
    index = deps.store.expiry
    report = TickReport()
    _end_terms(today, index, deps, report)
    if deps.reminders.daytime(event.occurred_at):
        _remind(event, today, index, deps, report)
    else:
        # Reminders go out in the daytime only: they stay pending in the index
        # and the next daytime tick (the scheduler's runs at 10:00) sends them.
        log.info("reminders_wait_for_daytime", at=event.occurred_at.isoformat())
    deps.store.events.mark_done(event.event_id, event.fingerprint())
    log.info(
        "expiry_tick",
        day=today.isoformat(),
        term_ends=report.term_ends,
        reminders=report.reminders,
        duplicates=report.duplicates,
    )
    return report


def _end_terms(today: date, index: Expiry, deps: Deps, report: TickReport) -> None:
    """Every term whose last day is before ``today``, however many days were missed."""
    for _ in range(MAX_BATCHES):
        due = index.term_ends_due(today - timedelta(days=1), BATCH)
        if not due:
            return
        ends = [_or_refused(_term_ended, deps, sid, sid, expires_on) for sid, expires_on in due]
        result = deps.publisher.publish_derived(e for e in ends if e is not None)
        report.term_ends += result.enqueued
        report.duplicates += result.duplicates + len(result.reused)
        index.term_ends_enqueued([sid for sid, _ in due])


def _or_refused(build: Callable[..., T], deps: Deps, subscription_id: str, *args: Any) -> T | None:
    """``build(*args)``; or, when this one item cannot be handled, a durable
    refusal for it and None, so the rest of the tick goes on."""
    try:
        return build(*args)
    except ValueError as e:  # pydantic's ValidationError included
        log.error("tick_item_refused", subscription_id=subscription_id, error=str(e)[:300])
        deps.store.refusals.record(
            refused(
                refusal_id=f"{ids.TICK_ITEM}{subscription_id}",
                queue=Queue.LIFECYCLE.value,
                reason=Reason.UNPROCESSABLE_ITEM,
                detail=f"subscription {subscription_id[:128]!r}: {e}",
                at=deps.clock(),
                payload={"type": "ExpiryTick", "subscription_id": subscription_id[:200]},
                dead_lettered=False,
            )
        )
        return None


def _term_ended(subscription_id: str, expires_on: date) -> AnnualTermEnded:
    # Dated when the term ended, not when the tick ran: the same term end has
    # the same payload whichever tick enqueues it.
    ended = datetime.combine(expires_on + timedelta(days=1), time(0), tzinfo=JST)
    return AnnualTermEnded(
        event_id=term_end_id(subscription_id, expires_on),
        occurred_at=ended,
        subscription_id=subscription_id,
        expires_on=expires_on,
    )


def _remind(tick: ExpiryTick, today: date, index: Expiry, deps: Deps, report: TickReport) -> None:
    offsets = sorted(set(deps.reminders.offsets_days))
    if not offsets:
        return
    horizon = today + timedelta(days=offsets[-1])
    for _ in range(MAX_BATCHES):
        pending = index.reminders_due(today, horizon, BATCH)
        if not pending:
            return
        events: list[SubscriptionExpiringSoon] = []
        moves: list[Advance] = []
        for entry in pending:
            found = _or_refused(_reminder, deps, entry.subscription_id, tick, today, entry, offsets)
            event, next_due = found if found is not None else (None, None)
            if event is not None:
                events.append(event)
            moves.append(Advance(entry.subscription_id, entry.source, next_due))
        result = deps.publisher.publish_derived(events)
        report.reminders += result.enqueued
        # A reused id is an offset another tick already enqueued (with its own days_left).
        report.duplicates += result.duplicates + len(result.reused)
        index.advance(moves)


def _reminder(
    tick: ExpiryTick, today: date, entry: PendingReminder, offsets: list[int]
) -> tuple[SubscriptionExpiringSoon | None, date | None]:
    """The reminder due today for this term (if any), and the day the next one is due."""
    days_left = (entry.expires_on - today).days
    if days_left < 0:
        return None, None  # the term is over; its end is the term-end index's business
    offset = next((o for o in offsets if o >= days_left), None)
    if offset is None:
        # Not in any window yet (only when offsets changed since it was indexed).
        return None, entry.expires_on - timedelta(days=offsets[-1])
    smaller = [o for o in offsets if o < offset]
    next_due = entry.expires_on - timedelta(days=smaller[-1]) if smaller else None
    event = SubscriptionExpiringSoon(
        event_id=reminder_id(entry.subscription_id, entry.expires_on, offset),
        occurred_at=tick.occurred_at,
        subscription_id=entry.subscription_id,
        expires_on=entry.expires_on,
        days_left=days_left,
    )
    return event, next_due

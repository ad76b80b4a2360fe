"""What the daily expiry tick has still to do, indexed by date.

Three sorted sets, so a tick's cost grows with what is due, never with the
number of subscriptions:

- ``term_ends_pending``: every annual term whose ``AnnualTermEnded`` has not
  been enqueued yet, scored by ``expires_on``;
- ``reminders_upcoming``: annual terms that may still need a reminder and
  have had none considered yet, scored by ``expires_on``;
- ``reminders_next``: terms that got a reminder and wait for the next
  (smaller) offset, scored by the day that offset becomes due.

Purchases add entries in the subscription's own transaction (``on_change``);
renewal consent or a cancelled auto renewal withdraw the reminders there
too. Only the tick moves entries on, after it enqueued their follow-ups
(whose deterministic ids make a replay harmless).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import redis

from store.keys import Keys
from store.lua import script
from store.records import Subscription
from store.text import text

Source = Literal["upcoming", "next"]

# The most entries one call takes or moves, so no call of a tick holds Redis
# for more than a millisecond or two, however much is due (docs/capacity.md).
CALL_LIMIT = 500


def wants_reminders(sub: Subscription) -> bool:
    """No renewal consent and no cancelled auto renewal (SPEC section 6)."""
    return sub.renewal_consent_at is None and sub.auto_renewal_cancelled_at is None


def index_annual_term(
    pipe: Any, keys: Keys, before: Subscription | None, after: Subscription
) -> None:
    """Called from ``store.indexes.on_change`` inside every subscription write."""
    if after.expires_on is None:
        return
    sid = after.subscription_id
    if before is None:
        day = after.expires_on.toordinal()
        pipe.zadd(keys.term_ends_pending, {sid: day})
        if wants_reminders(after):
            pipe.zadd(keys.reminders_upcoming, {sid: day})
    elif wants_reminders(before) and not wants_reminders(after):
        pipe.zrem(keys.reminders_upcoming, sid)
        pipe.zrem(keys.reminders_next, sid)


@dataclass(frozen=True)
class PendingReminder:
    subscription_id: str
    expires_on: date
    source: Source


@dataclass(frozen=True)
class Advance:
    """Where a reminder entry goes after the tick: the day of its next offset, or out."""

    subscription_id: str
    source: Source
    next_due: date | None


class ExpiryIndex:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._due = client.register_script(script("reminders_due"))
        self._advance = client.register_script(script("reminders_advance"))

    def term_ends_due(self, through: date, limit: int) -> list[tuple[str, date]]:
        """Terms whose last day is ``through`` or earlier, not yet enqueued."""
        rows: list[Any] = self._r.zrangebyscore(
            self._keys.term_ends_pending,
            "-inf",
            through.toordinal(),
            start=0,
            num=min(limit, CALL_LIMIT),
            withscores=True,
        )
        return [(text(member), date.fromordinal(int(score))) for member, score in rows]

    def term_ends_enqueued(self, subscription_ids: list[str]) -> None:
        for i in range(0, len(subscription_ids), CALL_LIMIT):
            self._r.zrem(self._keys.term_ends_pending, *subscription_ids[i : i + CALL_LIMIT])

    def reminders_due(self, today: date, horizon: date, limit: int) -> list[PendingReminder]:
        """Terms ending by ``horizon`` never considered, and next offsets due by
        ``today``: at most ``limit``, and at most ``CALL_LIMIT`` (ask again
        after ``advance`` for the rest)."""
        keys = self._keys
        raw = self._due(
            keys=[keys.reminders_upcoming, keys.reminders_next, keys.expiry_index],
            args=[today.toordinal(), horizon.toordinal(), min(limit, CALL_LIMIT)],
        )
        found: list[PendingReminder] = []
        for i in range(0, len(raw), 3):
            member, score, source = text(raw[i]), text(raw[i + 1]), text(raw[i + 2])
            day = int(float(score))
            if day > 0:
                kind: Source = "upcoming" if source == "u" else "next"
                found.append(PendingReminder(member, date.fromordinal(day), kind))
            else:
                # No expiry on record (never an annual purchase): nothing to remind.
                self._r.zrem(keys.reminders_next, member)
        return found

    def advance(self, moves: list[Advance]) -> None:
        for i in range(0, len(moves), CALL_LIMIT):
            args: list[str] = []
            for m in moves[i : i + CALL_LIMIT]:
                nxt = "" if m.next_due is None else str(m.next_due.toordinal())
                args += [m.subscription_id, "u" if m.source == "upcoming" else "n", nxt]
            keys = [self._keys.reminders_upcoming, self._keys.reminders_next]
            self._advance(keys=keys, args=args)

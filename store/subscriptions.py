"""Subscription records in Redis: a purchase, its facts, and the indexes.

Every change is one optimistic transaction: the facts are read, the new state
is folded, and the fact, the event's idempotency record and the indexes are
written together or not at all. A purchase and a fact alike are a read and
a commit script that checks the record's version (``scripts/commit.lua``;
a new record has none), both sent through the process's round trips
(``store/roundtrips.py``: a worker's threads share theirs). A concurrent
writer to the same subscription makes the commit fail and the change is
recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from store import codec, indexes
from store.calendar import END_OF_TIME
from store.errors import EventIdReused, SubscriptionExists, UnknownSubscription
from store.events import DONE, claimed
from store.keys import Keys
from store.ledger import RedisLedger
from store.lifecycle import project
from store.lua import script
from store.records import Fact, HistoryEntry, Purchase, Subscription
from store.roundtrips import Pipelined, RoundTrips
from store.text import text

_WITH_EXTRA = 2  # scripts/commit.lua: applied, and every extra write ran
_COMMIT = script("commit")


@dataclass(frozen=True)
class ExtraWrites:
    """Writes to make in the same script as a change, right after it; each
    runs only if the one before it answered an integer above zero. Opaque to
    the store: whoever asks for them knows what they mean (the transport
    settles the message that carried the change, workers/transport/settle.py)."""

    commands: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Applied:
    """What an event did to a subscription. ``duplicate`` when it was seen
    before; ``extra_written`` when the commit also made the extra writes."""

    subscription: Subscription
    entry: HistoryEntry | None
    duplicate: bool = False
    extra_written: bool = False


class RedisSubscriptions:
    def __init__(self, client: redis.Redis, keys: Keys, io: RoundTrips | None = None) -> None:
        self._r = client
        self._keys = keys
        self._io = io if io is not None else Pipelined(client)
        self._commit_script = self._io.script(_COMMIT)
        self._ledger = RedisLedger(client, keys)

    def purchase(self, purchase: Purchase, fingerprint: str) -> Applied:
        """Create the record; idempotent per ``purchase.event_id``.

        The same two steps as a fact (one read, one commit script that
        writes only if the record is still absent: its version is still
        none), through the same round trips, so concurrent purchases share
        them as cancellations do. Two racing purchases of one id: one
        commits, the other reads again and meets it."""
        sub_key = self._keys.subscription(purchase.subscription_id)
        bucket, field = self._keys.claim(purchase.event_id)
        while True:
            claim, existing = self._io.run(
                lambda pipe: (pipe.hget(bucket, field), pipe.hgetall(sub_key))
            )
            seen = claimed(claim)
            if seen is not None and seen != fingerprint:
                raise EventIdReused(purchase.event_id)
            if existing:
                fields = {text(k): text(v) for k, v in existing.items()}
                return self._replayed_purchase(
                    purchase, codec.load_purchase(purchase.subscription_id, fields)
                )
            writes = self._r.pipeline(transaction=False)  # records commands; never executed
            writes.hset(sub_key, mapping=codec.dump_purchase(purchase))
            writes.hset(bucket, field, fingerprint + DONE)
            indexes.on_change(writes, self._keys, None, project(purchase, [], END_OF_TIME))
            if self._commit(sub_key, "", writes, None):
                record = project(purchase, [], purchase.occurred_at)
                return Applied(record, record.history[0])

    def _replayed_purchase(self, purchase: Purchase, existing: Purchase) -> Applied:
        if existing.event_id != purchase.event_id:
            raise SubscriptionExists(purchase.subscription_id)
        if existing != purchase:
            raise EventIdReused(purchase.event_id)
        record = self.get(purchase.subscription_id)
        assert record is not None
        return Applied(record, record.history[0], duplicate=True)

    def apply(
        self,
        subscription_id: str,
        fact: Fact,
        fingerprint: str,
        extra: ExtraWrites | None = None,
    ) -> Applied:
        """Add one dated fact and refold; idempotent per ``fact.event_id``.

        Optimistic, in two steps: one read, then one script that applies every
        write only if the record's version is still the one read
        (``scripts/commit.lua``); a concurrent change makes it fail and the
        fact is folded again. The hot path of every cancellation: both steps
        go through the coalescer, so concurrent applies share round trips.

        ``extra``: writes to make in the same script, only when the fact is
        applied (a refused fact still has its refusal to record, and a
        duplicate commits nothing).
        """
        sub_key = self._keys.subscription(subscription_id)
        bucket, field = self._keys.claim(fact.event_id)
        while True:
            claim, raw = self._io.run(
                lambda pipe: (pipe.hget(bucket, field), pipe.hgetall(sub_key))
            )
            seen_claim = claimed(claim)
            if seen_claim is not None and seen_claim != fingerprint:
                raise EventIdReused(fact.event_id)
            if not raw:
                raise UnknownSubscription(subscription_id)
            fields = {text(k): text(v) for k, v in raw.items()}
            purchase = codec.load_purchase(subscription_id, fields)
            known = codec.facts_of(fields)
            seen = known.get(fact.event_id)
            if seen is not None:
                if seen[1] != fingerprint:
                    raise EventIdReused(fact.event_id)
                record = _fold(purchase, known, fields)
                return Applied(record, record.outcome_of(fact.event_id), duplicate=True)
            before = project(purchase, [f for f, _ in known.values()], END_OF_TIME)
            known[fact.event_id] = (fact, fingerprint)
            watermark = max(codec.watermark_of(fields), fact.at)
            fields[codec.WATERMARK] = codec.dump_time(watermark)
            after = project(purchase, [f for f, _ in known.values()], END_OF_TIME)
            writes = self._r.pipeline(transaction=False)  # records commands; never executed
            writes.hset(
                sub_key,
                mapping={
                    codec.fact_field(fact.event_id): codec.dump_fact(fact, fingerprint),
                    codec.WATERMARK: fields[codec.WATERMARK],
                },
            )
            writes.hset(bucket, field, fingerprint + DONE)
            indexes.on_change(writes, self._keys, before, after)
            entry = after.outcome_of(fact.event_id)
            refused = entry is not None and entry.reason is not None
            answer = self._commit(
                sub_key, fields.get(codec.VERSION, ""), writes, None if refused else extra
            )
            if answer:
                record = _fold(purchase, known, fields)
                return Applied(
                    record, record.outcome_of(fact.event_id), extra_written=answer == _WITH_EXTRA
                )

    def _commit(self, sub_key: str, version: str, writes: Any, extra: ExtraWrites | None) -> int:
        commands = [command for command, _options in writes.command_stack]
        args: list[Any] = [version, len(commands)]
        for command in [*commands, *(extra.commands if extra else ())]:
            args.append(len(command))
            args.extend(command)
        (answer,) = self._io.run(lambda pipe: self._commit_script.queue(pipe, [sub_key], args))
        return int(answer)

    def get(self, subscription_id: str, at: datetime | None = None) -> Subscription | None:
        """The subscription as it stands at ``at`` (default: the latest time it knows)."""
        raw = self._r.hgetall(self._keys.subscription(subscription_id))
        if not raw:
            return None
        fields = {text(k): text(v) for k, v in raw.items()}
        purchase = codec.load_purchase(subscription_id, fields)
        record = _fold(purchase, codec.facts_of(fields), fields, at)
        # The ledger, not the record, knows what was charged (store/billing.py).
        record.last_billed_period = self._ledger.last_billed_period(subscription_id, at)
        return record


def _fold(
    purchase: Purchase,
    known: dict[str, tuple[Fact, str]],
    fields: dict[str, str],
    at: datetime | None = None,
) -> Subscription:
    as_of = at or codec.watermark_of(fields)
    facts = [f for f, _ in known.values() if at is None or f.at <= at]
    return project(purchase, facts, as_of)

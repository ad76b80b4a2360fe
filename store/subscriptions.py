"""Subscription records in Redis: a purchase, its facts, and the indexes.

Every change is one optimistic transaction: the facts are read, the new state
is folded, and the fact, the event's idempotency record and the indexes are
written together or not at all. A purchase and a fact alike are a read and
a commit script that checks the record's version (``scripts/commit.lua``;
a new record has none), both sent through the process's round trips
(``store/roundtrips.py``: a worker's threads share theirs). A concurrent
writer to the same subscription makes the commit fail and the change is
recomputed; so does a month-end close that started after the read (the
billing index entry was marked, or not, by the latest close read:
``store.billing.Span.may_owe``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import redis

from store import codec, indexes
from store.billing import BillingKeys, Layout, latest_close, settle
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
_LOAD = script("load")


@dataclass(frozen=True)
class ExtraWrites:
    """Writes to make in the same script as a change, right after it; each
    runs only if the one before it answered an integer above zero. Opaque to
    the store: whoever asks for them knows what they mean (the transport
    settles the message that carried the change, workers/transport/settle.py)."""

    commands: tuple[tuple[str, ...], ...]


# A subscription's history for ``load_histories``: its id, and its purchases
# and facts in the order they apply, each with its event's fingerprint.
History = tuple[str, Sequence[tuple[Purchase | Fact, str]]]


@dataclass(frozen=True)
class Applied:
    """What an event did to a subscription. ``duplicate`` when it was seen
    before; ``extra_written`` when the commit also made the extra writes."""

    subscription: Subscription
    entry: HistoryEntry | None
    duplicate: bool = False
    extra_written: bool = False


# What an event of a history did: applied (or a duplicate), or the refusal
# ``purchase`` or ``apply`` would have raised.
Outcome = Applied | EventIdReused | SubscriptionExists | UnknownSubscription


class RedisSubscriptions:
    def __init__(self, client: redis.Redis, keys: Keys, io: RoundTrips | None = None) -> None:
        self._r = client
        self._keys = keys
        self._io = io if io is not None else Pipelined(client)
        self._commit_script = self._io.script(_COMMIT)
        self._load_script = self._io.script(_LOAD)
        self._ledger = RedisLedger(client, keys)
        self._bill = BillingKeys(keys.prefix)
        self._closes = self._bill.closes

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
            fields, closing, layout = self._read(sub_key, purchase.event_id, fingerprint, True)
            if fields:
                return self._replayed_purchase(
                    purchase, codec.load_purchase(purchase.subscription_id, fields)
                )
            if layout is None or layout.level is None:
                settle(self._r, self._keys)
                continue
            level = layout.level_for(1)
            writes = self._r.pipeline(transaction=False)  # records commands; never executed
            writes.hset(sub_key, mapping=codec.dump_purchase(purchase, level))
            writes.hset(bucket, field, fingerprint + DONE)
            layout.count(writes, self._bill, level)
            after = project(purchase, [], END_OF_TIME)
            indexes.on_change(writes, self._keys, None, after, closing, level)
            if self._commit(sub_key, "", closing, writes, None):
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
            fields, closing, _ = self._read(sub_key, fact.event_id, fingerprint)
            if not fields:
                raise UnknownSubscription(subscription_id)
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
            indexes.on_change(writes, self._keys, before, after, closing, codec.level_of(fields))
            entry = after.outcome_of(fact.event_id)
            refused = entry is not None and entry.reason is not None
            answer = self._commit(
                sub_key, fields.get(codec.VERSION, ""), closing, writes, None if refused else extra
            )
            if answer:
                record = _fold(purchase, known, fields)
                return Applied(
                    record, record.outcome_of(fact.event_id), extra_written=answer == _WITH_EXTRA
                )

    def load_histories(self, histories: Sequence[History]) -> list[list[Outcome] | None]:
        """Whole histories of new subscriptions (``subcycle import``), with
        what ``purchase`` and ``apply`` would have done event by event, in
        order, as each outcome.

        Each history is folded here as one commit of all its events; one
        script call (``scripts/load.lua``) then writes every history whose
        record is absent and none of whose event ids is claimed. A history
        the store already holds whole (the same file imported again) has
        its duplicates answered from the record that call read back. The
        others (an existing record with events it lacks, an id claimed
        before) answer None, nothing of them written: apply them event by
        event. A close that starts between the read of the latest close and
        the script call makes the script write nothing, and the batch is
        folded again."""
        while True:
            raw, placed = self._io.run(
                lambda pipe: (
                    pipe.zrange(self._closes, -1, -1, withscores=True),
                    pipe.zrange(self._bill.layout, 0, -1, withscores=True),
                )
            )
            layout = Layout.read(placed)
            if layout.level is None:
                settle(self._r, self._keys)
                continue
            folded, args = self._fold_batch(histories, latest_close(raw), layout)
            (answers,) = self._io.run(partial(self._load_script.queue, keys=[], args=args))
            if answers is not None:
                break  # else a close started meanwhile: fold again
        taken: list[list[Outcome] | None] = []
        for history, outcomes, answer in zip(histories, folded, answers, strict=True):
            if isinstance(answer, list):  # its record exists: [claims, fields]
                taken.append(_replayed(history, *answer))
            else:
                taken.append(outcomes if answer else None)
        return taken

    def _fold_batch(
        self, histories: Sequence[History], closing: int | None, layout: Layout
    ) -> tuple[list[list[Outcome]], list[Any]]:
        """Each history folded, and scripts/load.lua's arguments for them all.
        The batch's new records all take the level its size calls for."""
        folded: list[list[Outcome]] = []
        args: list[Any] = [self._closes, "" if closing is None else closing]
        level = layout.level_for(len(histories))
        for sid, items in histories:
            sub_key = self._keys.subscription(sid)
            claims = [self._keys.claim(e.event_id) for e, _ in items]
            outcomes, writes = self._fold_history(
                sid, sub_key, items, claims, closing, layout, level
            )
            folded.append(outcomes)
            args += [sub_key, len(claims), *(part for claim in claims for part in claim)]
            commands = [] if writes is None else writes.command_stack
            args.append(len(commands))
            for command, _options in commands:
                args.append(len(command))
                args.extend(command)
        return folded, args

    def _fold_history(
        self,
        sid: str,
        sub_key: str,
        items: Sequence[tuple[Purchase | Fact, str]],
        claims: list[tuple[str, str]],
        closing: int | None,
        layout: Layout,
        level: int,
    ) -> tuple[list[Outcome], Any]:
        """``purchase`` and ``apply``, event by event, on a record not yet
        written (it will be of ``level``, counted in ``layout``): their
        outcomes and the writes of all their commits at once."""
        outcomes: list[Outcome] = []
        writes = _Recorder()
        fields: dict[str, str] = {}
        done: dict[str, str] = {}  # the claims this history's commits make
        known: dict[str, tuple[Fact, str]] = {}
        bought: Purchase | None = None
        before: Subscription | None = None
        watermark = END_OF_TIME
        commits = 0
        for (item, fingerprint), (bucket, field) in zip(items, claims, strict=True):
            seen_claim = done.get(item.event_id)
            if seen_claim is not None and seen_claim != fingerprint:
                outcomes.append(EventIdReused(item.event_id))
                continue
            if isinstance(item, Purchase):
                if bought is not None:
                    if bought.event_id != item.event_id:
                        outcomes.append(SubscriptionExists(sid))
                    elif bought != item:
                        outcomes.append(EventIdReused(item.event_id))
                    else:
                        record = _fold(bought, known, watermark)
                        outcomes.append(Applied(record, record.history[0], duplicate=True))
                    continue
                bought = item
                fields.update(codec.dump_purchase(item, level))
                watermark = item.occurred_at  # what watermark_of(fields) reads back
                layout.count(writes, self._bill, level)
                before = project(item, [], END_OF_TIME)
                indexes.on_change(writes, self._keys, None, before, closing, level)
                record = project(item, [], item.occurred_at)
                outcomes.append(Applied(record, record.history[0]))
            else:
                if bought is None:
                    outcomes.append(UnknownSubscription(sid))
                    continue
                seen = known.get(item.event_id)
                if seen is not None:
                    if seen[1] != fingerprint:
                        outcomes.append(EventIdReused(item.event_id))
                        continue
                    record = _fold(bought, known, watermark)
                    outcomes.append(
                        Applied(record, record.outcome_of(item.event_id), duplicate=True)
                    )
                    continue
                known[item.event_id] = (item, fingerprint)
                watermark = max(watermark, item.at)
                fields[codec.fact_field(item.event_id)] = codec.dump_fact(item, fingerprint)
                fields[codec.WATERMARK] = codec.dump_time(watermark)
                after = project(bought, [f for f, _ in known.values()], END_OF_TIME)
                indexes.on_change(writes, self._keys, before, after, closing, level)
                before = after
                record = _fold(bought, known, watermark)
                outcomes.append(Applied(record, record.outcome_of(item.event_id)))
            done[item.event_id] = fingerprint
            writes.hset(bucket, field, fingerprint + DONE)
            commits += 1
        if not commits:
            return outcomes, None
        # The version as the event-by-event commits would have left it.
        fields[codec.VERSION] = str(commits)
        writes.command_stack.insert(0, ((("HSET", sub_key, *_flat(fields))), {}))
        return outcomes, writes

    def _read(
        self, sub_key: str, event_id: str, fingerprint: str, new: bool = False
    ) -> tuple[dict[str, str], int | None, Layout | None]:
        """The record's fields ({} when absent) and the latest month whose
        close has started, read with the event's claim in one round trip;
        an id claimed with other content is refused. ``new``: a purchase,
        so the billing index's layout is read too."""
        bucket, field = self._keys.claim(event_id)

        def queue(pipe: Any) -> None:
            pipe.hget(bucket, field)
            pipe.hgetall(sub_key)
            pipe.zrange(self._closes, -1, -1, withscores=True)
            if new:
                pipe.zrange(self._bill.layout, 0, -1, withscores=True)

        claim, raw, closes, *placed = self._io.run(queue)
        seen = claimed(claim)
        if seen is not None and seen != fingerprint:
            raise EventIdReused(event_id)
        layout = Layout.read(placed[0]) if placed else None
        return {text(k): text(v) for k, v in raw.items()}, latest_close(closes), layout

    def _commit(
        self,
        sub_key: str,
        version: str,
        closing: int | None,
        writes: Any,
        extra: ExtraWrites | None,
    ) -> int:
        args = _commit_args(version, closing, writes, extra)
        keys = [sub_key, self._closes]
        (answer,) = self._io.run(lambda pipe: self._commit_script.queue(pipe, keys, args))
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
        record.last_billed_period = self._ledger.last_billed_period(
            subscription_id, codec.level_of(fields), at
        )
        return record


class _Recorder:
    """The commands the index writers give a pipeline, recorded as a redis-py
    pipeline records them (``command_stack``), without its per-command cost:
    a history loaded at once records thousands a second. tests/test_import.py
    proves the keys written the same as event by event."""

    def __init__(self) -> None:
        self.command_stack: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def hset(self, name: str, key: str, value: Any) -> None:
        self.command_stack.append((("HSET", name, key, value), {}))

    def hdel(self, name: str, *keys: str) -> None:
        self.command_stack.append((("HDEL", name, *keys), {}))

    def zadd(self, name: str, mapping: dict[str, Any], gt: bool = False) -> None:
        pairs = [part for member, score in mapping.items() for part in (score, member)]
        options = ("GT",) if gt else ()
        self.command_stack.append((("ZADD", name, *options, *pairs), {}))

    def zincrby(self, name: str, amount: int, value: str) -> None:
        self.command_stack.append((("ZINCRBY", name, amount, value), {}))

    def zrem(self, name: str, *values: str) -> None:
        self.command_stack.append((("ZREM", name, *values), {}))


def _commit_args(
    version: str, closing: int | None, writes: Any, extra: ExtraWrites | None
) -> list[Any]:
    """scripts/commit.lua's arguments for the commands ``writes`` recorded."""
    commands = [command for command, _options in writes.command_stack]
    args: list[Any] = [version, "" if closing is None else closing, len(commands)]
    for command in [*commands, *(extra.commands if extra else ())]:
        args.append(len(command))
        args.extend(command)
    return args


def _replayed(history: History, claims: list[Any], raw: list[Any]) -> list[Outcome] | None:
    """The outcomes of ``history`` as duplicates, each as ``purchase`` or
    ``apply`` answers one, when its record (its flat ``raw`` fields) holds
    every one of its events, each claimed done with the same fingerprint;
    else None (event by event tells what each does)."""
    sid, items = history
    for claim, (_, fingerprint) in zip(claims, items, strict=True):
        if claim is None or text(claim) != fingerprint + DONE:
            return None
    fields = {text(raw[k]): text(raw[k + 1]) for k in range(0, len(raw), 2)}
    purchase = codec.load_purchase(sid, fields)
    known = codec.facts_of(fields)
    for item, fingerprint in items:
        if isinstance(item, Purchase):
            if item != purchase:
                return None
        elif known.get(item.event_id, (None, ""))[1] != fingerprint:
            return None
    record = _fold(purchase, known, fields)
    return [
        Applied(
            record,
            record.history[0] if isinstance(item, Purchase) else record.outcome_of(item.event_id),
            duplicate=True,
        )
        for item, _ in items
    ]


def _flat(fields: dict[str, str]) -> list[str]:
    return [part for pair in fields.items() for part in pair]


def _fold(
    purchase: Purchase,
    known: dict[str, tuple[Fact, str]],
    fields: dict[str, str] | datetime,
    at: datetime | None = None,
) -> Subscription:
    """The record as of ``at``, else its watermark (given, or read from its fields)."""
    as_of = at or (fields if isinstance(fields, datetime) else codec.watermark_of(fields))
    facts = [f for f, _ in known.values() if at is None or f.at <= at]
    return project(purchase, facts, as_of)

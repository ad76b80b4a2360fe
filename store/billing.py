"""Month-end billing in Redis: the billing index, the closes and the ledger.

Every subscription with monthly service has one entry in one of the billing
index's small hashes (a hash of its id): ``bill:span:<b>``, field = the
subscription, value = its monthly span and fee, ``start:fee:end`` (months as
indexes; ``end`` empty while open-ended), with ``*`` appended while the span
changed since the bucket's last close, if it covers a month whose close had
started (``Span.may_owe``: the only entries that can owe a charge for an
already-closed month). Each bucket holds a few dozen entries,
so Redis keeps it as a ``listpack``: bytes per subscription, not tens of
bytes (docs/capacity.md).

The index grows with the store (``Layout``): a record is given a *level*
when it is created, and its bucket is ``crc32(id) mod 2**level`` for good;
the store's level rises by one each time it holds ``FILL`` records a
bucket. An entry never moves, so no writer, close or ledger ever looks for
it elsewhere; a close walks the ``2**level`` buckets of the level when it
started. A store written before levels existed is level ``LEGACY_LEVEL``
(32,768 buckets) and stays so.

The ledger of month M is ``ledger:M:<b>``, the same buckets: field = the
subscription, value = the yen charged. The close hash of M keeps the
ledger's count and total (``charges``, ``yen``), moved in the same script
as the charges, so a month's totals are one read.

A close fans out into ``SHARDS`` shards of equal runs of buckets.
A shard is closed by slices (``scripts/close_slice.lua``): each call takes
the buckets from the shard's cursor until it has looked at about ``SLICE``
subscriptions, charges what is billable and not yet in the ledger, and
moves the cursor, all in one script. So no call holds Redis for more than
a few milliseconds however large the store, a redelivered or raced slice
adds nothing twice, and a shard redelivered half-way resumes at its cursor.
The span comes from the *eventual* projection (see store/indexes.py), so a
term end due but not yet ticked is already counted.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from store.calendar import month_index, period_from_index, period_index
from store.keys import PHONE_BUCKETS, Keys, braced
from store.lua import script
from store.records import Subscription
from store.text import text

SHARDS = 64
# The levels: 2**level buckets, a power of two so every shard has as many.
# A new store starts at FIRST_LEVEL and rises a level each time it holds
# FILL records a bucket, so a close walks about one bucket per FILL / 2 to
# FILL subscriptions at every size; the first buckets, which every level
# shares, hold about FILL / 2 more per level (at 10 M, level 19, about 180:
# still a listpack). A store from before levels is LEGACY_LEVEL.
FIRST_LEVEL = 10
LEGACY_LEVEL = 15
FILL = 32
BUCKETS = 2**LEGACY_LEVEL  # a legacy store's, and a close's before levels
# How many subscriptions one slice looks at: about 1 ms of Redis on this
# machine, so a slice stays under 5 ms even when Redis shares its core.
SLICE = 200


@dataclass(frozen=True)
class BillingKeys:
    prefix: str

    @property
    def span_prefix(self) -> str:
        return f"{self.prefix}bill:span:"

    def spans(self, bucket: int) -> str:
        return f"{self.span_prefix}{bucket}"

    @property
    def layout(self) -> str:
        """The index's level and how many records were given one (``Layout``)."""
        return f"{self.prefix}bill:layout"

    @property
    def ledger_prefix(self) -> str:
        return f"{self.prefix}ledger:"

    def ledger(self, period: str, bucket: int) -> str:
        return f"{self.ledger_prefix}{period}:{bucket}"

    @property
    def close_prefix(self) -> str:
        return f"{self.prefix}bill:close:"

    @property
    def closes(self) -> str:
        """Every month whose close has started, scored by its month index."""
        return f"{self.prefix}bill:closes"

    def close(self, period: str) -> str:
        return f"{self.close_prefix}{period}"

    def close_done(self, period: str, run: str) -> str:
        return f"{self.close_prefix}{period}:done:{braced(run)}"

    def close_cursors(self, period: str, run: str) -> str:
        """Per shard, the next bucket the run's close of ``period`` takes."""
        return f"{self.close_prefix}{period}:cursor:{braced(run)}"


@dataclass(frozen=True)
class Span:
    """The months a subscription's monthly service covers, and its fee."""

    start: int  # month index of monthly_started_on
    end: int | None  # month index of service_until; None while open-ended
    fee: int

    def packed(self, marked: bool) -> str:
        """The bucket entry; ``marked``: as changed since the bucket's last close."""
        end = "" if self.end is None else self.end
        return f"{self.start}:{self.fee}:{end}{'*' if marked else ''}"

    def may_owe(self, latest_close: int | None) -> bool:
        """Whether a month whose close has started (the latest is
        ``latest_close``, a month index; None: no close ever started) is
        one this span covers: only then can it owe a catch-up charge, and
        only then is its entry marked. A span that starts after every such
        month is charged by the closes still to come, as any other."""
        return latest_close is not None and self.start <= latest_close


def fee_of(ledger_entry: bytes | str) -> int:
    """The yen of a ledger entry: the fee itself, or a billing bucket's entry
    (``Span.packed``) that a close copied with its bucket (scripts/close_slice.lua)."""
    raw = text(ledger_entry)
    return int(raw.split(":", 2)[1]) if ":" in raw else int(raw)


def bucket_of(subscription_id: str, level: int) -> int:
    """The bucket of a record of ``level`` (``codec.level_of``), for good."""
    return zlib.crc32(subscription_id.encode()) % (1 << level)


def shard_buckets(shard: int, buckets: int = BUCKETS) -> range:
    """The buckets of ``shard`` in a close that walks ``buckets``."""
    per = buckets // SHARDS
    return range(shard * per, (shard + 1) * per)


@dataclass(frozen=True)
class Layout:
    """The billing index's level, and how many records were given one, as
    a writer read them (``ZRANGE layout 0 -1 WITHSCORES``, beside the
    latest close). ``level`` None: never settled (``settle``)."""

    level: int | None
    records: int

    @classmethod
    def read(cls, raw: Any) -> Layout:
        scores = {text(member): int(score) for member, score in raw}
        return cls(scores.get("level"), scores.get("records", 0))

    def level_for(self, new: int) -> int:
        """The level of the records a commit creates, ``new`` of them: one
        more each time the store holds FILL records a bucket."""
        level = LEGACY_LEVEL if self.level is None else self.level
        while self.records + new > FILL << level:
            level += 1
        return level

    def count(self, pipe: Any, keys: BillingKeys, level: int) -> None:
        """Queue the layout's writes for one record created at ``level``, in
        its commit: counted, and the store's level raised to it (never
        lowered: ``ZADD GT``), so a close started after the commit walks
        the record's bucket."""
        pipe.zincrby(keys.layout, 1, "records")
        if self.level is None or level > self.level:
            pipe.zadd(keys.layout, {"level": level}, gt=True)


def span_of(sub: Subscription | None) -> Span | None:
    if sub is None or sub.monthly_started_on is None:
        return None
    start = month_index(sub.monthly_started_on)
    end = None if sub.service_until is None else month_index(sub.service_until)
    return Span(start, end, sub.monthly_fee_jpy)


def index_span(
    pipe: Any,
    keys: BillingKeys,
    before: Subscription | None,
    after: Subscription,
    latest_close: int | None,
    level: int,
) -> None:
    """Queue the billing index writes for a change to a record of ``level``
    (inside the caller's commit, which checks that ``latest_close`` is
    still the latest: see ``latest_close``)."""
    old, new = span_of(before), span_of(after)
    if old == new:
        return
    sid = after.subscription_id
    bucket = keys.spans(bucket_of(sid, level))
    if new is None:
        pipe.hdel(bucket, sid)
    else:
        pipe.hset(bucket, sid, new.packed(new.may_owe(latest_close)))


def settle(client: redis.Redis, keys: Keys) -> None:
    """Give the index its first level, once (``ZADD NX``): ``FIRST_LEVEL``
    for a store with no record yet, ``LEGACY_LEVEL`` for one written before
    levels, whose entries are in 32,768 buckets. Every record has had a
    phone index entry since its purchase and keeps it (store/phones.py), so
    a store without one has no record: an empty database says so at once,
    else one ``EXISTS`` of every phone bucket tells (about 25 ms, once in a
    store's life). An upgrade stops the workers of the earlier version
    first."""
    layout = BillingKeys(keys.prefix).layout
    if client.zscore(layout, "level") is not None:
        return
    found = 0
    if client.dbsize():
        names = [keys.legacy_phone_locale, *map(keys.phone_bucket, range(PHONE_BUCKETS))]
        with client.pipeline(transaction=False) as pipe:
            for start in range(0, len(names), 4096):
                pipe.exists(*names[start : start + 4096])
            found = sum(pipe.execute())
    level = LEGACY_LEVEL if found else FIRST_LEVEL
    client.zadd(layout, {"level": level}, nx=True)


def latest_close(raw: Any) -> int | None:
    """The month index of the latest month whose close has started, from
    ``ZRANGE closes -1 -1 WITHSCORES`` (None: none has). A writer reads it
    with the record and its commit script checks it has not moved, so an
    entry left unmarked can never miss a close that started meanwhile."""
    return int(raw[0][1]) if raw else None


@dataclass(frozen=True)
class CloseStatus:
    period: str
    run: str
    state: str  # "closing" | "closed"
    total: int
    done: int
    started_at: str
    buckets: int = BUCKETS  # walked by the run (a close registered before levels: BUCKETS)


@dataclass(frozen=True)
class ShardResult:
    charged: int  # new charges for the month closed
    caught_up: int  # new charges for earlier closed months
    done: int
    total: int
    closed: bool  # this shard completed the close
    amount_jpy: int = 0  # yen of the new charges (both kinds)


class RedisBilling:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._r = client
        self.keys = BillingKeys(prefix)
        self._register = client.register_script(script("close_register"))
        self._close_slice = client.register_script(script("close_slice"))

    def register_close(self, period: str, run: str, started_at: datetime) -> bool:
        """Start (or rejoin) the close ``run`` of ``period``; True if its shards
        were already sent, so a redelivered close does not send them again."""
        k = self.keys
        sent = self._register(
            keys=[k.closes, k.close(period), k.layout],
            args=[period, period_index(period), run, SHARDS, started_at.isoformat(), LEGACY_LEVEL],
        )
        return bool(int(sent))

    def mark_sent(self, period: str, run: str) -> None:
        self._r.hset(self.keys.close(period), "sent", run)

    def close_shard(self, period: str, shard: int, run: str) -> ShardResult:
        """Close one shard, a bounded slice per script call, from its cursor on."""
        charged = caught = yen = 0
        while True:
            raw = self.close_slice(period, shard, run)
            charged, caught, yen = charged + raw[0], caught + raw[1], yen + raw[5]
            if raw[6]:
                return ShardResult(charged, caught, raw[2], raw[3], bool(raw[4]), yen)

    def close_slice(
        self, period: str, shard: int, run: str, budget: int | None = None
    ) -> list[int]:
        """One script call of a shard's close (``scripts/close_slice.lua``):
        about ``budget`` (default ``SLICE``) subscriptions from its cursor on."""
        k = self.keys
        raw = self._close_slice(
            keys=[
                k.close(period),
                k.close_done(period, run),
                k.close_cursors(period, run),
                k.closes,
            ],
            args=[
                k.span_prefix,
                k.ledger_prefix,
                k.close_prefix,
                period,
                period_index(period),
                run,
                shard,
                SLICE if budget is None else budget,
                BUCKETS,
                SHARDS,
            ],
        )
        return [int(x) for x in raw]

    def status(self, period: str) -> CloseStatus | None:
        raw = self._r.hgetall(self.keys.close(period))
        if not raw:
            return None
        fields = {text(a): text(b) for a, b in raw.items()}
        done = int(self._r.scard(self.keys.close_done(period, fields["run"])))
        return CloseStatus(
            period,
            fields["run"],
            fields["state"],
            int(fields["total"]),
            done,
            fields.get("started_at", ""),
            int(fields.get("buckets", BUCKETS)),
        )

    def started_periods(self) -> list[str]:
        """Every month whose close has started, oldest first."""
        scored: list[tuple[bytes, float]] = self._r.zrange(  # type: ignore[assignment]
            self.keys.closes, 0, -1, withscores=True
        )
        return [period_from_index(int(score)) for _, score in scored]

    def last_closed_period(self) -> str | None:
        """The latest month whose close completed."""
        for period in reversed(self.started_periods()):
            status = self.status(period)
            if status is not None and status.state == "closed":
                return period
        return None

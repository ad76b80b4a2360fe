"""Month-end billing in Redis: the billing index, the closes and the ledger.

The layout makes a close almost free of per-subscription work in Python. Every
subscription with monthly service lives in one of ``SHARDS`` shards (a hash of
its id) and is indexed there by its monthly span:

- ``starts`` (zset): score = ``start month × FEE_SPAN + monthly_fee_jpy``, so
  one score range selects "started by the end of M" and carries the fee;
- ``ends`` (zset): score = the month of ``service_until`` (only when set);
- ``dirty`` (set): subscriptions whose span changed since the shard's last
  close, the only ones that can owe a charge for an already-closed month.

The ledger of month M in shard k is the zset ``charges:M:k`` (member = the
subscription, score = its encoded start and fee). Closing M in shard k is one
Lua script (``scripts/close_shard.lua``) made of Redis set operations: billable =
starts(<= M) − ends(< M); new charges = billable − ledger. Being one atomic
script per shard, a redelivered shard, a second close or two racing closes add
nothing twice. The span comes from the *eventual* projection (see
store/indexes.py), so a term end due but not yet ticked is already counted.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from store.calendar import month_index, period_from_index, period_index
from store.keys import braced
from store.lua import script
from store.records import Subscription
from store.text import text

SHARDS = 64
# Fees are < 2**20 yen (the catalogue caps them at 1,000,000).
FEE_SPAN = 1 << 20


@dataclass(frozen=True)
class BillingKeys:
    prefix: str

    def starts(self, shard: int) -> str:
        return f"{self.prefix}bill:{shard}:starts"

    def ends(self, shard: int) -> str:
        return f"{self.prefix}bill:{shard}:ends"

    def dirty(self, shard: int) -> str:
        return f"{self.prefix}bill:{shard}:dirty"

    def scratch(self, shard: int, name: str) -> str:
        return f"{self.prefix}bill:{shard}:tmp:{name}"

    @property
    def charges_prefix(self) -> str:
        return f"{self.prefix}charges:"

    def charges(self, period: str, shard: int) -> str:
        return f"{self.charges_prefix}{period}:{shard}"

    @property
    def closes(self) -> str:
        """Every month whose close has started, scored by its month index."""
        return f"{self.prefix}bill:closes"

    def close(self, period: str) -> str:
        return f"{self.prefix}bill:close:{period}"

    def close_done(self, period: str, run: str) -> str:
        return f"{self.prefix}bill:close:{period}:done:{braced(run)}"


@dataclass(frozen=True)
class Span:
    """The months a subscription's monthly service covers, and its fee."""

    start: int  # month index of monthly_started_on
    end: int | None  # month index of service_until; None while open-ended
    fee: int

    @property
    def start_score(self) -> int:
        return self.start * FEE_SPAN + self.fee


def shard_of(subscription_id: str) -> int:
    return zlib.crc32(subscription_id.encode()) % SHARDS


def span_of(sub: Subscription | None) -> Span | None:
    if sub is None or sub.monthly_started_on is None:
        return None
    start = month_index(sub.monthly_started_on)
    end = None if sub.service_until is None else month_index(sub.service_until)
    return Span(start, end, sub.monthly_fee_jpy)


def index_span(
    pipe: Any, keys: BillingKeys, before: Subscription | None, after: Subscription
) -> None:
    """Queue the billing index writes for a change (inside the caller's MULTI)."""
    old, new = span_of(before), span_of(after)
    if old == new:
        return
    sid = after.subscription_id
    shard = shard_of(sid)
    if new is None:
        pipe.zrem(keys.starts(shard), sid)
        pipe.zrem(keys.ends(shard), sid)
    else:
        pipe.zadd(keys.starts(shard), {sid: new.start_score})
        if new.end is None:
            pipe.zrem(keys.ends(shard), sid)
        else:
            pipe.zadd(keys.ends(shard), {sid: new.end})
    pipe.sadd(keys.dirty(shard), sid)


@dataclass(frozen=True)
class CloseStatus:
    period: str
    run: str
    state: str  # "closing" | "closed"
    total: int
    done: int
    started_at: str


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
        self._close_shard = client.register_script(script("close_shard"))

    def register_close(self, period: str, run: str, started_at: datetime) -> bool:
        """Start (or rejoin) the close ``run`` of ``period``; True if its shards
        were already sent, so a redelivered close does not send them again."""
        k = self.keys
        sent = self._register(
            keys=[k.closes, k.close(period)],
            args=[period, period_index(period), run, SHARDS, started_at.isoformat()],
        )
        return bool(int(sent))

    def mark_sent(self, period: str, run: str) -> None:
        self._r.hset(self.keys.close(period), "sent", run)

    def close_shard(self, period: str, shard: int, run: str) -> ShardResult:
        k = self.keys
        scratch = [k.scratch(shard, n) for n in ("a", "e", "n", "d", "de")]
        raw = self._close_shard(
            keys=[
                k.starts(shard),
                k.ends(shard),
                k.dirty(shard),
                k.close(period),
                k.close_done(period, run),
                k.closes,
                *scratch,
            ],
            args=[k.charges_prefix, shard, period, period_index(period), run, FEE_SPAN],
        )
        charged, caught, done, total, closed, yen = (int(x) for x in raw)
        return ShardResult(charged, caught, done, total, bool(closed), yen)

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

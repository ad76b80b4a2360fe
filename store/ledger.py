"""Reading the ledger: a closed month's charges, and a subscription's last
billed month. Writing it is the close's job (store/billing.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import redis

from store import codec
from store.billing import FEE_SPAN, SHARDS, BillingKeys, shard_of
from store.calendar import next_period, period_from_index, period_start
from store.errors import PeriodNotClosed
from store.keys import Keys
from store.lua import script
from store.text import text

PAGE = 5_000


@dataclass(frozen=True)
class Charge:
    subscription_id: str
    phone: str
    period: str
    amount_jpy: int


class RedisLedger:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._bill = BillingKeys(keys.prefix)
        self._totals = client.register_script(script("ledger_totals"))

    def charges(self, period: str) -> Iterator[Charge]:
        """Every charge of a closed month, shard by shard (never all in memory).

        Refuses a month never closed or still closing: a partial month is
        never exported.
        """
        state = self._r.hget(self._bill.close(period), "state")
        if state is None:
            raise PeriodNotClosed(period, "has not been closed")
        if text(state) != "closed":
            raise PeriodNotClosed(period, "is still closing")
        for shard in range(SHARDS):
            yield from self._shard_charges(period, shard)

    def totals(self, period: str) -> tuple[int, int]:
        """How many charges a month's ledger holds, and their yen."""
        with self._r.pipeline(transaction=False) as pipe:
            for shard in range(SHARDS):
                self._totals(keys=[self._bill.charges(period, shard)], args=[FEE_SPAN], client=pipe)
            found = pipe.execute()
        return sum(int(c) for c, _ in found), sum(int(y) for _, y in found)

    def count(self, period: str) -> int:
        with self._r.pipeline(transaction=False) as pipe:
            for shard in range(SHARDS):
                pipe.zcard(self._bill.charges(period, shard))
            return sum(int(n) for n in pipe.execute())

    def last_billed_period(self, subscription_id: str, at: datetime | None = None) -> str | None:
        """The latest month this subscription was charged for (ended by ``at``)."""
        months: list[tuple[bytes, float]] = self._r.zrange(  # type: ignore[assignment]
            self._bill.closes, 0, -1, withscores=True
        )
        periods = [period_from_index(int(score)) for _, score in months]
        if at is not None:
            periods = [p for p in periods if period_start(next_period(p)) <= at]
        if not periods:
            return None
        shard = shard_of(subscription_id)
        with self._r.pipeline(transaction=False) as pipe:
            for p in periods:
                pipe.zscore(self._bill.charges(p, shard), subscription_id)
            found = pipe.execute()
        charged = [p for p, score in zip(periods, found, strict=True) if score is not None]
        return max(charged) if charged else None

    def _shard_charges(self, period: str, shard: int) -> Iterator[Charge]:
        key = self._bill.charges(period, shard)
        start = 0
        while True:
            page: list[tuple[bytes, float]] = self._r.zrange(  # type: ignore[assignment]
                key, start, start + PAGE - 1, withscores=True
            )
            if not page:
                return
            ids = [text(member) for member, _ in page]
            with self._r.pipeline(transaction=False) as pipe:
                for sid in ids:
                    pipe.hget(self._keys.subscription(sid), codec.PACKED)
                purchases = pipe.execute()
            for sid, (_, score), raw in zip(ids, page, purchases, strict=True):
                phone = codec.phone_of(text(raw)) if raw is not None else ""
                yield Charge(sid, phone, period, int(score) % FEE_SPAN)
            start += PAGE

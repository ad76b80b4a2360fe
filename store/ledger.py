"""Reading the ledger: a closed month's charges, and a subscription's last
billed month. Writing it is the close's job (store/billing.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import redis

from store import codec
from store.billing import LEGACY_LEVEL, BillingKeys, bucket_of, fee_of
from store.calendar import next_period, period_from_index, period_start
from store.errors import PeriodNotClosed
from store.keys import Keys
from store.text import text

PAGE = 512  # buckets read per round trip


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

    def charges(self, period: str) -> Iterator[Charge]:
        """Every charge of a closed month, bucket by bucket (never all in memory).

        Refuses a month never closed or still closing: a partial month is
        never exported.
        """
        state = self._r.hget(self._bill.close(period), "state")
        if state is None:
            raise PeriodNotClosed(period, "has not been closed")
        if text(state) != "closed":
            raise PeriodNotClosed(period, "is still closing")
        buckets = self.buckets()
        for first in range(0, buckets, PAGE):
            yield from self._page_charges(period, range(first, min(first + PAGE, buckets)))

    def buckets(self) -> int:
        """How many buckets the index, and so every month's ledger, may use:
        those of the store's level (store/billing.py, ``Layout``), which
        only rises."""
        level = self._r.zscore(self._bill.layout, "level")
        return 1 << (LEGACY_LEVEL if level is None else int(level))

    def totals(self, period: str) -> tuple[int, int]:
        """How many charges a month's ledger holds, and their yen (kept by the close)."""
        count, yen = self._r.hmget(self._bill.close(period), ["charges", "yen"])
        return int(count or 0), int(yen or 0)

    def count(self, period: str) -> int:
        return self.totals(period)[0]

    def last_billed_period(
        self, subscription_id: str, level: int, at: datetime | None = None
    ) -> str | None:
        """The latest month this subscription, a record of ``level``
        (``codec.level_of``), was charged for (ended by ``at``)."""
        months: list[tuple[bytes, float]] = self._r.zrange(  # type: ignore[assignment]
            self._bill.closes, 0, -1, withscores=True
        )
        periods = [period_from_index(int(score)) for _, score in months]
        if at is not None:
            periods = [p for p in periods if period_start(next_period(p)) <= at]
        if not periods:
            return None
        bucket = bucket_of(subscription_id, level)
        with self._r.pipeline(transaction=False) as pipe:
            for p in periods:
                pipe.hexists(self._bill.ledger(p, bucket), subscription_id)
            found = pipe.execute()
        charged = [p for p, score in zip(periods, found, strict=True) if score]
        return max(charged) if charged else None

    def _page_charges(self, period: str, buckets: range) -> Iterator[Charge]:
        with self._r.pipeline(transaction=False) as pipe:
            for bucket in buckets:
                pipe.hgetall(self._bill.ledger(period, bucket))
            found: list[dict[bytes, bytes]] = pipe.execute()
        rows = [(text(sid), fee_of(v)) for page in found for sid, v in sorted(page.items())]
        if not rows:
            return
        with self._r.pipeline(transaction=False) as pipe:
            for sid, _ in rows:
                pipe.hget(self._keys.subscription(sid), codec.PACKED)
            packed = pipe.execute()
        for (sid, yen), raw in zip(rows, packed, strict=True):
            phone = codec.phone_of(text(raw)) if raw is not None else ""
            yield Charge(sid, phone, period, yen)

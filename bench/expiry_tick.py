"""Benchmark: one daily expiry tick over a large store, and the delivery of
the reminders it fans out through the outbox with 2 worker processes.

    .venv/bin/python bench/expiry_tick.py                  # 100,000 then 1,000,000
    .venv/bin/python bench/expiry_tick.py --sizes 100000 --due 2000

Needs a real Redis (SUBCYCLE_REDIS_URL, default redis://127.0.0.1:6379/0).
Everything is written under a fresh ``bench<hex>:`` prefix and deleted at the
end. Subscriptions are seeded straight through the store's own write path
(the purchase record plus ``store.indexes.on_change``), pipelined; ``--due``
of them end in 30 days (their 30-day reminder is due on the tick), the rest
end later, spread over three years.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from events import JST, ExpiryTick
from store import codec, indexes
from store.billing import LEGACY_LEVEL
from store.calendar import END_OF_TIME, term_expires_on
from store.keys import Keys
from store.lifecycle import project
from store.records import Purchase
from subcycle import logs
from subcycle.bootstrap import build
from subcycle.settings import Settings
from tests.conftest import delete_prefixed
from workers.handlers.expiry import on_expiry_tick

URL = os.environ.get("SUBCYCLE_REDIS_URL", "redis://127.0.0.1:6379/0")
PIPELINE = 5_000
SPREAD_DAYS = 3 * 365


def term_ending_on(expires_on: date) -> date:
    """The start of a 1-year term ending on ``expires_on`` (or the day before,
    when no start date gives that end: 29 February has no year-earlier twin)."""
    for end in (expires_on, expires_on - timedelta(days=1)):
        start = end + timedelta(days=1)
        try:
            starts_on = start.replace(year=start.year - 1)
        except ValueError:
            continue
        if term_expires_on(starts_on, 1) == end:
            return starts_on
    raise ValueError(f"no 1-year term ends on {expires_on}")


class IndexBatch:
    """Stands in for the pipeline ``store.indexes.on_change`` writes to, and
    merges a batch's index writes into one command per key: the index rules
    stay the store's own, and Redis gets a few bulk commands instead of
    several per subscription."""

    def __init__(self) -> None:
        self.zsets: dict[str, dict[str, float]] = defaultdict(dict)
        self.hashes: dict[str, dict[str, str]] = defaultdict(dict)
        self.sets: dict[str, set[str]] = defaultdict(set)

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        self.zsets[key].update(mapping)

    def hset(self, key: str, field: str, value: str) -> None:
        self.hashes[key][field] = value

    def sadd(self, key: str, *members: str) -> None:
        self.sets[key].update(members)

    def flush(self, pipe: Any) -> None:
        for key, zmapping in self.zsets.items():
            pipe.zadd(key, zmapping)
        for key, hmapping in self.hashes.items():
            pipe.hset(key, mapping=hmapping)
        for key, members in self.sets.items():
            pipe.sadd(key, *members)
        self.__init__()  # type: ignore[misc]


def seed(client: redis.Redis, keys: Keys, size: int, due: int, today: date) -> float:
    began = time.perf_counter()
    at = datetime.combine(today - timedelta(days=400), clock_time(10), tzinfo=JST)
    pipe = client.pipeline(transaction=False)
    batch = IndexBatch()
    for i in range(size):
        if i < due:
            expires_on = today + timedelta(days=30)
        else:
            expires_on = today + timedelta(days=31 + i % SPREAD_DAYS)
        purchase = Purchase(
            subscription_id=f"B{i:07d}",
            event_id=f"bench-purchase-{i}",
            occurred_at=at,
            phone=f"+8190{i:08d}",
            product="Mobile Security",
            locale="ja",
            plan="annual",
            term_years=1,
            starts_on=term_ending_on(expires_on),
            monthly_fee_jpy=550,
        )
        pipe.hset(
            keys.subscription(purchase.subscription_id),
            mapping=codec.dump_purchase(purchase),
        )
        indexes.on_change(batch, keys, None, project(purchase, [], END_OF_TIME), None, LEGACY_LEVEL)
        if (i + 1) % PIPELINE == 0:
            batch.flush(pipe)
            pipe.execute()
    batch.flush(pipe)
    pipe.execute()
    return time.perf_counter() - began


def start_workers(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "subcycle.cli", "worker", "--processes", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(predicate: object, timeout_s: float) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        if predicate():  # type: ignore[operator]
            return time.perf_counter() - began
        time.sleep(0.02)
    raise TimeoutError("timed out")


def run_size(client: redis.Redis, size: int, due: int, deliver: bool) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}:"
    namespace = prefix.rstrip(":")
    settings = Settings(
        env="development", redis_url=URL, key_prefix=prefix, queue_namespace=namespace
    )
    app = build(settings, client=client)
    today = datetime.now(JST).date()
    try:
        seconds = seed(client, app.store.keys, size, due, today)
        print(
            f"\n{size:,} annual subscriptions, {due:,} due: seeded in {seconds:.1f}s "
            f"({size / seconds:,.0f}/s)"
        )
        now = datetime.combine(today, clock_time(10), tzinfo=JST)
        tick = ExpiryTick(event_id=f"expiry:{today.isoformat()}", occurred_at=now)
        began = time.perf_counter()
        report = on_expiry_tick(tick, app.deps)
        took = time.perf_counter() - began
        print(f"  expiry tick: {report.reminders:,} reminders enqueued in {took:.3f}s")
        began = time.perf_counter()
        again = on_expiry_tick(tick, app.deps)
        print(
            f"  the same tick again: {again.reminders} enqueued in "
            f"{time.perf_counter() - began:.3f}s"
        )
        if not deliver:
            return
        outbox = f"{prefix}outbox"
        env = {
            **os.environ,
            "SUBCYCLE_REDIS_URL": URL,
            "SUBCYCLE_ENV": "development",  # a benchmark: the outbox gateway
            "SUBCYCLE_KEY_PREFIX": prefix,
            "SUBCYCLE_QUEUE_NAMESPACE": namespace,
            "SUBCYCLE_LOG_LEVEL": "WARNING",
            "SUBCYCLE_REMINDER_DAYTIME": "00:00-24:00",  # any hour of the run
        }
        began = time.perf_counter()
        workers = start_workers(env)
        try:
            first = wait_for(lambda: client.llen(outbox) > 0, 120)
            total = wait_for(lambda: client.llen(outbox) >= report.reminders, 600)
        finally:
            os.killpg(workers.pid, 15)
            workers.wait(timeout=60)
        delivered = client.llen(outbox)
        print(
            f"  delivery with 2 worker processes: {delivered:,} reminders in "
            f"{total:.1f}s after the first ({delivered / max(total, 1e-9):,.0f}/s); "
            f"{first + total:.1f}s including worker start-up"
        )
    finally:
        began = time.perf_counter()
        delete_prefixed(client, prefix, f"{namespace}:")
        print(f"  (cleaned up in {time.perf_counter() - began:.1f}s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--no-delivery", action="store_true", help="time the tick only")
    args = parser.parse_args()
    logs.configure("console", "WARNING")
    client = redis.Redis.from_url(URL)
    client.ping()
    print(f"Redis {client.info('server')['redis_version']} at {URL}")
    for size in args.sizes:
        run_size(client, size, min(args.due, size), deliver=not args.no_delivery)


if __name__ == "__main__":
    main()

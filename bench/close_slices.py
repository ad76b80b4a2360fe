"""Benchmark: every script call of a close, timed, and the store's bytes.

    .venv/bin/python bench/close_slices.py 1000000

Seeds N monthly subscriptions as bench/month_end.py does (the records and
indexes a purchase writes, without the queues or the event claims), prints
the bytes per subscription and per charge by key shape, then closes one month
twice (two runs) from this one client, slice by slice, timing each
``close_slice`` call (a round trip included): the close's time per
subscription, and the slices' median, 99th percentile and longest. Its keys
are under its own prefix and deleted at the end. Not a test.
"""

import importlib
import statistics
import sys
import time
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store.billing import SHARDS
from store.redis import RedisStore
from tests.conftest import delete_prefixed

# The two benchmarks this one builds on, as scripts beside it (bench/ is no package).
breakdown, show = (getattr(importlib.import_module("memory"), f) for f in ("breakdown", "show"))
month_end = importlib.import_module("month_end")
seed, PERIOD, CLOSED_AT = month_end.seed, month_end.PERIOD, month_end.CLOSED_AT

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
prefix = f"probe{uuid.uuid4().hex[:8]}:"
c = redis.Redis()
store = RedisStore(c, prefix)
try:
    seed(c, store, n, 0.10)
    before = breakdown(c, prefix, 300)
    show("seeded store, per subscription:", before, n)
    for run in ("probe-1", "probe-2"):
        store.billing.register_close(PERIOD, run, CLOSED_AT)
        times = []
        t0 = time.perf_counter()
        for shard in range(SHARDS):
            while True:
                t = time.perf_counter()
                raw = store.billing.close_slice(PERIOD, shard, run)
                times.append(time.perf_counter() - t)
                if raw[6]:
                    break
        total = time.perf_counter() - t0
        times.sort()
        if run == "probe-1":
            after = breakdown(c, prefix, 300)
            led = {k: v for k, v in after.items() if k.startswith("ledger")}
            show("ledger, per charge:", led, store.ledger.count(PERIOD))
        p50, p99 = statistics.median(times), times[int(len(times) * 0.99)]
        print(
            f"{n:,} subs, {run}: {len(times)} slices, close {total:.2f}s "
            f"= {total / n * 1e6:.2f} us/sub; slice p50 {p50 * 1000:.2f} ms, "
            f"p99 {p99 * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms; "
            f"charges {store.ledger.count(PERIOD):,}"
        )
finally:
    delete_prefixed(c, prefix)

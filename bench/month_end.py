"""Benchmark: close one month over N monthly subscriptions with real workers.

    .venv/bin/python bench/month_end.py --count 1000000

Seeds N monthly subscriptions directly through the store layer (the same
records and indexes a purchase writes, pipelined), 10% of them cancelled in an
earlier month; then, for 1 and for 2 ``subcycle worker`` processes on the real
Redis, enqueues the ``BillingCycleClosed`` and waits for the close to finish.
Reports the wall time from the enqueue to the last charge written, charges per
second, the peak RSS of every worker process, and a rerun of the same close
(0 new charges). Every key it writes is under its own prefix and is deleted
at the end. Not a test: run it on demand.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events import JST, BillingCycleClosed  # noqa: E402
from store import codec, indexes  # noqa: E402
from store.billing import BUCKETS, LEGACY_LEVEL  # noqa: E402
from store.calendar import END_OF_TIME  # noqa: E402
from store.lifecycle import CANCELLATION, project  # noqa: E402
from store.records import Fact, Purchase  # noqa: E402
from store.redis import RedisStore  # noqa: E402
from tests.conftest import delete_prefixed  # noqa: E402
from workers.publisher import Publisher  # noqa: E402

PERIOD = "2026-10"
CLOSED_AT = datetime(2026, 11, 1, tzinfo=JST)
BATCH = 5_000


@dataclass
class Run:
    label: str
    seconds: float
    new_charges: int
    total_charges: int
    peak_rss_mb: list[float]


def seed(client: redis.Redis, store: RedisStore, count: int, cancelled_share: float) -> int:
    """Write ``count`` monthly purchases (and cancellations) as the store does."""
    rng = random.Random(42)
    keys = store.keys
    cancelled = 0
    every = round(1 / cancelled_share)
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        sid = f"B{i:07d}"
        start = date(2026, rng.randint(1, 9), rng.randint(1, 28))
        at = datetime(start.year, start.month, start.day, 10, tzinfo=JST)
        p = Purchase(
            sid,
            f"buy-{sid}",
            at,
            f"+8190{i:08d}",
            "Mobile Security",
            "ja",
            "monthly",
            None,
            start,
            550,
        )
        facts = []
        if i % every == 0:  # exactly the share asked for, each in a month before PERIOD
            cancel_month = rng.randint(start.month, 9)
            facts.append(
                Fact(
                    f"cancel-{sid}",
                    CANCELLATION,
                    datetime(2026, cancel_month, 28, 12, tzinfo=JST),
                    "monthly_service",
                )
            )
            cancelled += 1
        fields = codec.dump_purchase(p)
        for f in facts:
            fields[codec.fact_field(f.event_id)] = codec.dump_fact(f, "bench")
            fields[codec.WATERMARK] = codec.dump_time(f.at)
        pipe.hset(keys.subscription(sid), mapping=fields)
        indexes.on_change(pipe, keys, None, project(p, facts, END_OF_TIME), None, LEGACY_LEVEL)
        if i % BATCH == BATCH - 1:
            pipe.execute()
    pipe.execute()
    return cancelled


def start_workers(env: dict[str, str], processes: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/subcycle"),
            "worker",
            "--queues",
            "billing",
            "--processes",
            str(processes),
            "--threads",
            "4",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text()
    return [int(p) for p in children.split()]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_ready(client: redis.Redis, ns: str, processes: int, timeout_s: float = 30) -> None:
    """Until every worker process has registered its billing consumer."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.zcard(f"{ns}:__heartbeats__") >= processes:
            return
        time.sleep(0.1)
    raise SystemExit("workers did not start")


def close(
    client: redis.Redis,
    store: RedisStore,
    ns: str,
    processes: int,
    run_id: str,
    env: dict[str, str],
    label: str,
) -> Run:
    before = store.ledger.count(PERIOD)
    client.delete(f"{ns}:__heartbeats__")  # the previous run's workers are gone
    workers = start_workers(env, processes)
    try:
        wait_ready(client, ns, processes)
        time.sleep(1.0)  # let every consumer poll once
        event = BillingCycleClosed(event_id=run_id, occurred_at=CLOSED_AT, period=PERIOD)
        publisher = Publisher(client, store.keys, ns)
        started = time.perf_counter()
        publisher.publish([event])
        while True:
            status = store.billing.status(PERIOD)
            if status is not None and status.run == run_id and status.state == "closed":
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        rss = [peak_rss_mb(pid) for pid in [workers.pid, *worker_pids(workers.pid)]]
    finally:
        os.killpg(workers.pid, signal.SIGTERM)
        workers.wait(timeout=60)
    after = store.ledger.count(PERIOD)
    return Run(label, seconds, after - before, after, rss)


def reset_ledger(client: redis.Redis, store: RedisStore) -> None:
    """Forget the close (not the subscriptions), so the next run charges anew."""
    k = store.billing.keys
    for key in client.scan_iter(match=f"{k.ledger_prefix}{PERIOD}:*", count=10_000):
        client.unlink(key)
    client.delete(k.closes, k.close(PERIOD))
    for key in client.scan_iter(match=f"{k.close(PERIOD)}:*"):
        client.delete(key)
    mark = (
        "for _, key in ipairs(KEYS) do local e = redis.call('hgetall', key) "
        "for i = 2, #e, 2 do if string.sub(e[i], -1) ~= '*' then e[i] = e[i] .. '*' end end "
        "if #e > 0 then redis.call('hset', key, unpack(e)) end end"
    )
    for first in range(0, BUCKETS, 256):  # every subscription dirty again, as after seeding
        client.eval(mark, 256, *(k.spans(b) for b in range(first, first + 256)))


class SlowLog:
    """Redis's SLOWLOG during the closes: the threshold lowered to 1 ms (and put
    back afterwards), then our calls' longest duration, and how many were
    over 5 ms. Other clients' entries are left out by our key prefix."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._r, self._prefix = client, prefix.encode()
        config: Any = client.config_get("slowlog-*")
        self._config = config
        client.config_set("slowlog-max-len", 100_000)
        client.config_set("slowlog-log-slower-than", 1000)
        entries: Any = client.slowlog_get(1)
        self._after = int(entries[0]["id"]) if entries else -1

    def report(self) -> None:
        entries: Any = self._r.slowlog_get(100_000)
        for name, value in self._config.items():
            self._r.config_set(name, value)
        ours = [
            e
            for e in entries
            if int(e["id"]) > self._after and self._prefix in b" ".join(_args(e["command"]))
        ]
        by_command: dict[bytes, list[int]] = {}
        for e in ours:
            by_command.setdefault(_args(e["command"])[0].upper(), []).append(int(e["duration"]))
        scripts = by_command.get(b"EVALSHA", [])
        print(
            f"our script calls over 1 ms: {len(scripts)}, over 5 ms: "
            f"{sum(1 for d in scripts if d > 5000)}, longest {max(scripts, default=0)} us"
        )
        for name, durations in sorted(by_command.items()):
            print(f"  {name.decode()}: {len(durations)} over 1 ms, longest {max(durations)} us")


def _args(command: Any) -> list[bytes]:
    return command.split() if isinstance(command, bytes) else [str(command).encode()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--cancelled", type=float, default=0.10)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep", action="store_true", help="keep the keys afterwards")
    args = parser.parse_args()

    unique = uuid.uuid4().hex[:8]
    prefix, ns = f"bench{unique}:", f"benchq{unique}"
    client = redis.Redis.from_url(args.redis_url)
    store = RedisStore(client, prefix)
    env = {
        **os.environ,
        "SUBCYCLE_REDIS_URL": args.redis_url,
        "SUBCYCLE_ENV": "development",  # a benchmark: the outbox gateway
        "SUBCYCLE_KEY_PREFIX": prefix,
        "SUBCYCLE_QUEUE_NAMESPACE": ns,
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "SUBCYCLE_LOG_FORMAT": "json",
    }
    try:
        t = time.perf_counter()
        cancelled = seed(client, store, args.count, args.cancelled)
        expected = args.count - cancelled
        print(
            f"seeded {args.count:,} monthly subscriptions ({cancelled:,} cancelled before "
            f"{PERIOD}) in {time.perf_counter() - t:.1f}s; expecting {expected:,} charges"
        )
        slow = SlowLog(client, prefix)
        runs = [close(client, store, ns, 1, "bench-1", env, "1 worker process")]
        reset_ledger(client, store)
        runs.append(close(client, store, ns, 2, "bench-2", env, "2 worker processes"))
        runs.append(close(client, store, ns, 2, "bench-rerun", env, "rerun, 2 processes"))
        for r in runs:
            rate = r.new_charges / r.seconds if r.seconds else 0
            print(
                f"{r.label:<20} {r.seconds:6.2f}s  new charges {r.new_charges:>9,}  "
                f"({rate:,.0f}/s)  ledger {r.total_charges:,}  peak RSS MB: "
                f"master {r.peak_rss_mb[0]:.0f}, children "
                + ", ".join(f"{m:.0f}" for m in r.peak_rss_mb[1:])
            )
        ok = runs[0].total_charges == expected and runs[1].total_charges == expected
        ok = ok and runs[2].new_charges == 0
        print("charges exact:", "yes" if ok else "NO")
        slow.report()
        print(f"bench process peak RSS: {peak_rss_mb(os.getpid()):.0f} MB")
        if not ok:
            raise SystemExit(1)
    finally:
        if not args.keep:
            delete_prefixed(client, prefix, f"{ns}:")


if __name__ == "__main__":
    main()

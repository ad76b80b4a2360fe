"""Benchmark: Redis bytes per subscription and per charge, through the real path.

    .venv/bin/python bench/memory.py --count 100000

Publishes N ``SubscriptionPurchased`` (monthly, or ``--annual``) with the
publisher, drains them with real ``subcycle worker`` processes, and reads
``INFO memory`` before and after; then closes one month through the billing
workers and reads the ledger's share the same way. Per key type it also
samples ``MEMORY USAGE`` (keys are grouped by their name with ids and
numbers blanked), so the breakdown adds up to the total. Every key it
writes is under its own prefix and deleted at the end. Not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events import JST, BillingCycleClosed, SubscriptionPurchased  # noqa: E402
from store.redis import RedisStore  # noqa: E402
from tests.conftest import delete_prefixed  # noqa: E402
from workers.publisher import Publisher  # noqa: E402

PERIOD = "2026-10"
CLOSED_AT = datetime(2026, 11, 1, tzinfo=JST)


def purchases(count: int, annual: bool) -> list[SubscriptionPurchased]:
    found = []
    for i in range(count):
        start = date(2026, 1, 1) + timedelta(days=i % 270)
        found.append(
            SubscriptionPurchased(
                event_id=f"pos-{i:08d}",
                occurred_at=datetime(start.year, start.month, start.day, 10, tzinfo=JST),
                subscription_id=f"SUB-{i:08d}",
                phone=f"+8190{10_000_000 + i % 89_999_999:08d}",
                product="Mobile Security",
                plan="annual" if annual else "monthly",
                term_years=1 if annual else None,
                starts_on=start,
                monthly_fee_jpy=550,
                locale="ja",
            )
        )
    return found


def used(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def workers(env: dict[str, str], queues: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/subcycle"),
            "worker",
            "--queues",
            *queues,
            "--processes",
            "2",
            "--threads",
            "8",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def drained(client: redis.Redis, ns: str, queue: str) -> bool:
    if client.llen(f"{ns}:{queue}") or client.hlen(f"{ns}:{queue}.msgs"):
        return False
    return not any(client.scard(k) for k in client.scan_iter(match=f"{ns}:__acks__.*"))


def shape(key: bytes, prefix: str) -> str:
    name = key.decode()[len(prefix) :]
    name = re.sub(r"\{[^}]*\}", "{id}", name)
    return re.sub(r"[0-9]+", "N", name)


def breakdown(client: redis.Redis, prefix: str, sample: int) -> dict[str, tuple[int, int]]:
    """Per key shape: how many keys, and their bytes (sampled, then scaled)."""
    counts: dict[str, int] = defaultdict(int)
    seen: dict[str, list[int]] = defaultdict(list)
    for key in client.scan_iter(match=f"{prefix}*", count=10_000):
        s = shape(key, prefix)
        counts[s] += 1
        if len(seen[s]) < sample:
            seen[s].append(int(client.memory_usage(key, samples=0) or 0))
    return {s: (n, n * sum(seen[s]) // len(seen[s])) for s, n in counts.items()}


def show(title: str, parts: dict[str, tuple[int, int]], per: int) -> None:
    print(title)
    for s, (n, size) in sorted(parts.items(), key=lambda kv: -kv[1][1]):
        print(f"  {s:<40} {n:>9,} keys  {size / per:8.1f} B each of {per:,}")
    print(f"  {'sum of MEMORY USAGE':<40} {sum(b for _, b in parts.values()) / per:25.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--annual", action="store_true")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    unique = uuid.uuid4().hex[:8]
    prefix, ns = f"mem{unique}:", f"memq{unique}"
    client = redis.Redis.from_url(args.redis_url)
    store = RedisStore(client, prefix)
    env = {
        **os.environ,
        "SUBCYCLE_REDIS_URL": args.redis_url,
        "SUBCYCLE_ENV": "development",
        "SUBCYCLE_KEY_PREFIX": prefix,
        "SUBCYCLE_QUEUE_NAMESPACE": ns,
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "SUBCYCLE_LOG_FORMAT": "json",
    }
    events = purchases(args.count, args.annual)
    try:
        base = used(client)
        started = time.perf_counter()
        Publisher(client, store.keys, ns).publish(events)
        proc = workers(env, ["lifecycle", "billing"])
        try:
            while not drained(client, ns, "lifecycle"):
                if proc.poll() is not None:
                    raise SystemExit("the workers exited")
                time.sleep(0.2)
            drain_s = time.perf_counter() - started
            after_subs = used(client)
            subs = breakdown(client, prefix, args.sample)
            if not args.annual:
                event = BillingCycleClosed(
                    event_id="mem-close", occurred_at=CLOSED_AT, period=PERIOD
                )
                Publisher(client, store.keys, ns).publish([event])
                while True:
                    status = store.billing.status(PERIOD)
                    if status is not None and status.state == "closed":
                        break
                    time.sleep(0.05)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        n = args.count
        print(f"{n:,} purchases published and drained in {drain_s:.1f}s ({n / drain_s:,.0f}/s)")
        print(f"INFO used_memory delta per subscription: {(after_subs - base) / n:.1f} B")
        show("per subscription, by key shape (MEMORY USAGE):", subs, n)
        if not args.annual:
            charges = store.ledger.count(PERIOD)
            after_close = breakdown(client, prefix, args.sample)
            ledger = {s: v for s, v in after_close.items() if s not in subs or v != subs[s]}
            delta = used(client) - after_subs
            print(
                f"{charges:,} charges; INFO used_memory delta per charge: {delta / charges:.1f} B"
            )
            show("what the close added or changed, per charge:", ledger, charges)
    finally:
        delete_prefixed(client, prefix, f"{ns}:")


if __name__ == "__main__":
    main()

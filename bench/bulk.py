"""What the capacity benchmarks share: a throwaway Redis server, a go-live
file of monthly contracts loaded with ``subcycle import``, worker processes,
and a month-end close timed through the real path.

Nothing here knows a store key: contracts go in through ``subcycle import``,
closes through a published ``BillingCycleClosed``, and progress is read from
the store's port, so the same benchmark measures whichever layout the store
has.
"""

from __future__ import annotations

import calendar
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events import JST, BillingCycleClosed  # noqa: E402
from store.redis import RedisStore  # noqa: E402
from workers.publisher import Publisher  # noqa: E402

FIRST_PERIOD = (2026, 10)  # every contract started (and every cancellation fell) before


def number(i: int) -> str:
    """The phone of contract ``i`` (bench/otp_latency.py asks codes for these)."""
    return f"+8190{10_000_000 + i:08d}"


@dataclass(frozen=True)
class Contract:
    subscription_id: str
    phone: str
    starts_on: date
    cancelled_on: date | None  # a monthly_service cancellation, before FIRST_PERIOD

    @property
    def service_until(self) -> date | None:
        if self.cancelled_on is None:
            return None
        last = calendar.monthrange(self.cancelled_on.year, self.cancelled_on.month)[1]
        return self.cancelled_on.replace(day=last)


def contracts(count: int, cancelled_share: float = 0.10) -> Iterator[Contract]:
    """``count`` monthly contracts started in 2026-01…09; exactly the share
    asked for cancelled in a month before October. Deterministic."""
    every = round(1 / cancelled_share) if cancelled_share else 0
    for i in range(count):
        start = date(2026, 1 + i % 9, 1 + (i // 9) % 28)
        cancelled = None
        if every and i % every == 0:
            cancelled = date(2026, start.month + (i // 7) % (10 - start.month), 28)
        yield Contract(f"C{i:07d}", number(i), start, cancelled)


def write_go_live(out: IO[str], items: Iterator[Contract]) -> tuple[int, int]:
    """The JSON lines of a go-live file; (events, contracts still charged)."""
    events = charged = 0
    for c in items:
        out.write(
            json.dumps(
                {
                    "type": "SubscriptionPurchased",
                    "event_id": f"buy-{c.subscription_id}",
                    "occurred_at": f"{c.starts_on.isoformat()}T10:00:00+09:00",
                    "subscription_id": c.subscription_id,
                    "phone": c.phone,
                    "product": "Mobile Security",
                    "plan": "monthly",
                    "starts_on": c.starts_on.isoformat(),
                    "monthly_fee_jpy": 550,
                }
            )
            + "\n"
        )
        events += 1
        if c.cancelled_on is None:
            charged += 1
            continue
        out.write(
            json.dumps(
                {
                    "type": "CancellationRequested",
                    "event_id": f"cancel-{c.subscription_id}",
                    "occurred_at": f"{c.cancelled_on.isoformat()}T12:00:00+09:00",
                    "subscription_id": c.subscription_id,
                    "kind": "monthly_service",
                }
            )
            + "\n"
        )
        events += 1
    return events, charged


def write_rows(out: IO[str], items: Iterator[Contract]) -> None:
    """The same contracts as CSV rows, for the PostgreSQL anchor."""
    w = csv.writer(out)
    for c in items:
        until = c.service_until
        w.writerow([c.subscription_id, c.phone, c.starts_on, until or "", 550])


@dataclass
class Imported:
    events: int
    charged: int
    seconds: float
    said: str

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def import_contracts(env: dict[str, str], count: int, processes: int = 2) -> Imported:
    """Write a go-live file of ``count`` contracts and ``subcycle import`` it
    (wall time, interpreter start included)."""
    with tempfile.TemporaryDirectory(prefix="capacity-") as tmp:
        path = Path(tmp) / "go-live.jsonl"
        with path.open("w") as f:
            events, charged = write_go_live(f, contracts(count))
        started = time.monotonic()
        done = subprocess.run(
            [str(ROOT / ".venv/bin/subcycle"), "import", str(path), "--processes", str(processes)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"subcycle import failed: {done.stderr.strip()[:500]}")
    return Imported(events, charged, seconds, done.stdout.strip())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def dedicated_redis(nice: int = 0) -> Iterator[str]:
    """A redis-server of our own on a free port (its SLOWLOG and memory are
    ours alone), no persistence; stopped and removed afterwards. ``nice``
    below 0 raises its scheduling priority (root only; otherwise it says so
    and runs at the default): on a machine it shares with the workers, the
    workers then take its core in the middle of a command less often (fewer
    slow calls, not none: docs/capacity.md)."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="capacity-redis-")
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", workdir, "--maxmemory-policy", "noeviction"]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, proc.pid, nice)
        except PermissionError:
            print(f"redis-server runs at the default priority (nice {nice} needs root)")
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def bench_env(url: str, prefix: str, namespace: str) -> dict[str, str]:
    return {
        **os.environ,
        "SUBCYCLE_REDIS_URL": url,
        "SUBCYCLE_ENV": "development",  # a benchmark: the outbox gateway
        "SUBCYCLE_KEY_PREFIX": prefix,
        "SUBCYCLE_QUEUE_NAMESPACE": namespace,
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "SUBCYCLE_LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT),
    }


def start_workers(
    env: dict[str, str], queues: str, processes: int, threads: int
) -> subprocess.Popen[bytes]:
    argv = [str(ROOT / ".venv/bin/subcycle"), "worker", "--queues", *queues.split(",")]
    argv += ["--processes", str(processes), "--threads", str(threads)]
    # Each group its own metrics port: 9191 may be anyone's here.
    env = dict(env, dramatiq_prom_port=str(free_port()), dramatiq_prom_host="127.0.0.1")
    return subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_workers(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # our own group, by its id
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_beating(client: redis.Redis, namespace: str, processes: int) -> None:
    """Until every worker process has registered (Dramatiq's heartbeats)."""
    deadline = time.monotonic() + 60
    while client.zcard(f"{namespace}:__heartbeats__") < processes:
        if time.monotonic() > deadline:
            raise SystemExit("workers did not start")
        time.sleep(0.1)
    time.sleep(1.0)  # let every consumer poll once


def period(n: int) -> str:
    """The ``n``-th month from FIRST_PERIOD, as YYYY-MM."""
    year, month = FIRST_PERIOD
    month += n
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return f"{year:04d}-{month:02d}"


def close_month(store: RedisStore, publisher: Publisher, month: str, run_id: str) -> float:
    """Publish the close of ``month`` and wait until the store says it closed;
    seconds from the publish."""
    year, mon = (int(p) for p in month.split("-"))
    after = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=JST)
    event = BillingCycleClosed(event_id=run_id, occurred_at=after, period=month)
    started = time.perf_counter()
    publisher.publish([event])
    while True:
        try:
            status = store.billing.status(month)
        except (redis.TimeoutError, redis.ConnectionError) as e:
            # Redis did not answer while a shard ran (seen at 3 M): say so, keep waiting.
            waited = time.perf_counter() - started
            print(f"  status read of {month} failed after {waited:.1f} s: {e}", flush=True)
            if waited > 900:
                raise
            continue
        if status is not None and status.run == run_id and status.state == "closed":
            return time.perf_counter() - started
        time.sleep(0.005)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="write a go-live file for subcycle import")
    parser.add_argument("path")
    parser.add_argument("--contracts", type=int, default=90_910, help="(default: 100,001 events)")
    args = parser.parse_args()
    with open(args.path, "w") as f:
        events, charged = write_go_live(f, contracts(args.contracts))
    print(f"{args.path}: {events:,} events, {args.contracts:,} contracts ({charged:,} charged)")


if __name__ == "__main__":
    main()

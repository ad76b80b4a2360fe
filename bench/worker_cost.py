"""Benchmark: where a cancellation's cost goes, against bare Dramatiq.

    .venv/bin/python bench/worker_cost.py [--count 15000] [--rounds 2]

Each round, back to back on the real Redis, with bench/throughput.py's
worker settings (2 processes x 8 threads, prefetch 64): bare Dramatiq's
no-op actor, then subcycle's worker with its ``CancellationRequested``
handler cut short in the ways ``bench/cost_app.py`` describes (``parse``,
``read``, ``lua``: an upper bound of the fold written in Lua) and the real
one (``full``). For each it prints the rate, its share of bare's rate in the
same round, and the CPU time per message of the worker processes and of
the Redis server (``INFO cpu``), which is steadier than the rate on a
shared machine. Every key it writes is deleted at the end. Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throughput import (  # noqa: E402
    URL,
    beating,
    cancellation,
    drained,
    purchase,
    queue_noops,
    workers,
)

from events import parse_event  # noqa: E402
from store.connection import connect  # noqa: E402
from subcycle.bootstrap import build  # noqa: E402
from subcycle.settings import Settings  # noqa: E402
from tests.conftest import delete_prefixed  # noqa: E402
from tests.processes import kill_group, wait_for  # noqa: E402

VARIANTS = ("parse", "read", "lua", "full")


def cpu_seconds(group: subprocess.Popen[bytes]) -> float:
    """User and system time of every live process in ``group``'s process group."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group.pid:  # its process group: start_new_session=True
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


class Measure:
    """Rate and CPU per message from ``start()`` to ``stop(count)``."""

    def __init__(self, client: redis.Redis, group: subprocess.Popen[bytes]) -> None:
        self.client, self.group = client, group

    def start(self) -> None:
        self.cpu, self.rcpu = cpu_seconds(self.group), redis_cpu(self.client)
        self.t0 = time.monotonic()

    def stop(self, count: int) -> tuple[float, float, float]:
        elapsed = time.monotonic() - self.t0
        worker_us = (cpu_seconds(self.group) - self.cpu) / count * 1e6
        redis_us = (redis_cpu(self.client) - self.rcpu) / count * 1e6
        return count / elapsed, worker_us, redis_us


def bare(client: redis.Redis, args: argparse.Namespace) -> tuple[float, float, float]:
    namespace = f"benchcost{uuid.uuid4().hex[:8]}"
    env = {"BENCH_REDIS_URL": URL, "BENCH_NAMESPACE": namespace}
    (group,) = workers("bench.bare_app", env, args)
    try:
        beating(client, namespace, args.processes)
        measure = Measure(client, group)
        with client.pipeline(transaction=False) as pipe:
            queue_noops(pipe, namespace, args.count)
            measure.start()
            pipe.execute()
        wait_for(lambda: drained(client, namespace, "bench"), 600, poll=0.01)
        return measure.stop(args.count)
    finally:
        kill_group(group)
        delete_prefixed(client, f"{namespace}:")


def variant(client: redis.Redis, args: argparse.Namespace, name: str) -> tuple[float, float, float]:
    unique = uuid.uuid4().hex[:8]
    env = {
        "SUBCYCLE_REDIS_URL": URL,
        "SUBCYCLE_KEY_PREFIX": f"benchc{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"benchcq{unique}",
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "SUBCYCLE_LOG_FORMAT": "json",
        "BENCH_VARIANT": name,
    }
    settings = Settings(
        redis_url=URL,
        key_prefix=env["SUBCYCLE_KEY_PREFIX"],
        queue_namespace=env["SUBCYCLE_QUEUE_NAMESPACE"],
    )
    app = build(settings, client=connect(URL))
    ns = settings.queue_namespace
    (group,) = workers("bench.cost_app", env, args, "lifecycle", "cancellations")
    try:
        beating(client, ns, args.processes)
        app.publisher.publish(parse_event(purchase(i, "C")) for i in range(args.count))
        wait_for(lambda: drained(client, ns, "lifecycle"), 900, poll=0.1)
        events = [parse_event(cancellation(i, "C")) for i in range(args.count)]
        measure = Measure(client, group)
        measure.start()
        app.publisher.publish(events)
        wait_for(lambda: drained(client, ns, "cancellations"), 900, poll=0.01)
        return measure.stop(args.count)
    finally:
        kill_group(group)
        delete_prefixed(client, env["SUBCYCLE_KEY_PREFIX"], f"{ns}:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=15_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--prefetch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    client = redis.Redis.from_url(URL)
    print(
        f"workers: {args.processes} process(es) x {args.threads} threads, "
        f"prefetch {args.prefetch}; {args.count} messages per measure"
    )
    for n in range(1, args.rounds + 1):
        base, base_us, base_rus = bare(client, args)
        print(
            f"round {n}  bare no-op  {base:6.0f}/s         "
            f"workers {base_us:4.0f} us  redis {base_rus:3.0f} us per message"
        )
        for name in VARIANTS:
            rate, us, rus = variant(client, args, name)
            print(
                f"round {n}  {name:<10}  {rate:6.0f}/s {rate / base:5.0%}  "
                f"workers {us:4.0f} us  redis {rus:3.0f} us per message"
            )


if __name__ == "__main__":
    main()

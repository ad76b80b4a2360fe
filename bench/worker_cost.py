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
import sys
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throughput import URL, add_worker_options, noop_rate, subcycle_rate  # noqa: E402

VARIANTS = ("parse", "read", "lua", "full")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_worker_options(parser, count=15_000, rounds=2)
    args = parser.parse_args()
    client = redis.Redis.from_url(URL)
    print(
        f"workers: {args.processes} process(es) x {args.threads} threads, "
        f"prefetch {args.prefetch}; {args.count} messages per measure"
    )
    for n in range(1, args.rounds + 1):
        bare = noop_rate(client, args, "bench.bare_app")
        print(
            f"round {n}  bare no-op  {bare.rate:6.0f}/s         "
            f"workers {bare.worker_us:4.0f} us  redis {bare.redis_us:3.0f} us per message"
        )
        for name in VARIANTS:
            cut = subcycle_rate(client, args, "bench.cost_app", {"BENCH_VARIANT": name})
            print(
                f"round {n}  {name:<10}  {cut.rate:6.0f}/s {cut.rate / bare.rate:5.0%}  "
                f"workers {cut.worker_us:4.0f} us  redis {cut.redis_us:3.0f} us per message"
            )


if __name__ == "__main__":
    main()

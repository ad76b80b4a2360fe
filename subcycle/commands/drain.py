"""``subcycle drain``: work in this process until the queues are settled."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from subcycle.bootstrap import codes, publisher, workers
from subcycle.commands.common import add_redis_option, open_core
from workers.drain import drain
from workers.transport.coalesce import Coalescer


def register(sub: Any) -> None:
    p = sub.add_parser("drain", help="process until nothing is ready, due or in flight; then exit")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument(
        "--horizon",
        type=float,
        default=30.0,
        help="also wait for delayed messages due within this many seconds (default 30)",
    )
    p.add_argument("--timeout", type=float, default=600.0)
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    opened = open_core(args, guarded=True, io=Coalescer)
    running = workers(opened, publisher(opened), codes(opened))
    before = {r.refusal_id for r in opened.store.refusals.list()}
    report = drain(
        running.broker, threads=args.threads, horizon_s=args.horizon, timeout_s=args.timeout
    )
    refused = [r for r in opened.store.refusals.list() if r.refusal_id not in before]
    c = report.counts
    sys.stdout.write(
        f"processed {c['processed']}, retried {c['retried']}, "
        f"dead-lettered {c['dead_lettered']}, refused {len(refused)} "
        f"in {report.seconds:.1f}s\n"
    )
    for r in refused:
        sys.stdout.write(f"  refused {r.event_id or r.refusal_id} ({r.type}): {r.reason}\n")
    if report.waiting_later:
        sys.stdout.write(f"{report.waiting_later} delayed message(s) wait beyond the horizon\n")
    return 0

"""``subcycle queues [--json] [--watch]``: what waits on each queue."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from subcycle.bootstrap import Core
from subcycle.commands.common import UsageError, add_redis_option, open_core, print_json
from subcycle.status import live_workers, queue_depths
from workers.transport.inspect import QueueDepth

COLUMNS = (
    "queue",
    "ready",
    "delayed",
    "in_progress",
    "dead_lettered",
    "refused",
    "oldest_ready",
    "workers",
)


def register(sub: Any) -> None:
    p = sub.add_parser("queues", help="per queue: ready, delayed, in progress, dead-lettered")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--watch", action="store_true", help="refresh as a live table until Ctrl-C")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    p.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)  # tests: stop after N
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.watch and args.json:
        raise UsageError("--watch shows a live table; use --json without it")
    if args.interval <= 0:
        raise UsageError("--interval: must be positive")
    app = open_core(args)
    if args.json:
        print_json([d.to_json() for d in queue_depths(app)])
        return 0
    if not args.watch:
        sys.stdout.write(board(app))
        return 0
    shown = 0
    try:
        while True:
            # Clear the screen and home the cursor: a live table without curses.
            sys.stdout.write("\x1b[2J\x1b[H" + time.strftime("%H:%M:%S  ") + "Ctrl-C to stop\n")
            sys.stdout.write(board(app))
            sys.stdout.flush()
            shown += 1
            if args.count and shown >= args.count:
                return 0
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0


def board(core: Core) -> str:
    return render(queue_depths(core), live_workers(core))


def render(rows: list[QueueDepth], live: int) -> str:
    table = [COLUMNS] + [
        (
            d.queue,
            str(d.ready),
            str(d.delayed),
            str(d.in_progress),
            str(d.dead_lettered),
            str(d.refused),
            "-" if d.oldest_ready_age_s is None else f"{d.oldest_ready_age_s:.1f}s",
            str(d.workers),
        )
        for d in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    return "\n".join(lines) + f"\n{live} live worker(s)\n"

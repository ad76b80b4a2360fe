"""``subcycle tick expiry|month-end [--now T]``: a tick by hand (operators,
backfill, tests), exactly what the scheduler's job would enqueue at ``now``.

In a terminal, ``tick month-end`` then waits for the closes to finish with a
progress bar of shards done / total (``--no-wait`` returns at once). A script
(stdout not a terminal) gets its answer as soon as the closes are enqueued,
so ``tick month-end && subcycle drain`` never waits on workers that are not
running; ``--wait`` makes a script wait too.
"""

from __future__ import annotations

import argparse
import sys
import time as clock
from datetime import datetime
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from scheduler.ticks import Ticker
from store.billing import RedisBilling
from subcycle.bootstrap import Core, publisher, system_clock, ticker
from subcycle.commands.common import (
    CommandFailed,
    add_redis_option,
    open_core,
    timestamp_option,
)


def register(sub: Any) -> None:
    p = sub.add_parser("tick", help="emit the expiry or month-end tick by hand")
    ticks = p.add_subparsers(dest="tick", required=True, metavar="TICK")
    expiry = ticks.add_parser("expiry", help="enqueue the daily expiry tick")
    month_end = ticks.add_parser("month-end", help="close every month not yet closed")
    for q in (expiry, month_end):
        q.add_argument("--now", help="the tick's time, ISO-8601 with offset (default: now)")
        add_redis_option(q)
    month_end.add_argument("--no-wait", action="store_true", help="do not wait for the closes")
    month_end.add_argument(
        "--wait", action="store_true", help="wait for the closes even when not in a terminal"
    )
    month_end.add_argument("--timeout", type=float, default=600.0, help="seconds to wait")
    expiry.set_defaults(run=run_expiry)
    month_end.set_defaults(run=run_month_end)


def ticker_for(core: Core) -> Ticker:
    return ticker(core, publisher(core))


def parse_now(text: str | None) -> datetime:
    return system_clock() if text is None else timestamp_option("--now", text)


def run_expiry(args: argparse.Namespace) -> int:
    now = parse_now(args.now)
    app = open_core(args, checked=True)
    day = ticker_for(app).expiry(now)
    sys.stdout.write(("enqueued" if day else "already sent") + f" the expiry tick at {now}\n")
    return 0


def run_month_end(args: argparse.Namespace) -> int:
    now = parse_now(args.now)
    app = open_core(args, checked=True)
    periods = ticker_for(app).month_end(now)
    if not periods:
        last = app.store.billing.last_closed_period()
        sys.stdout.write(f"nothing to close: every month up to {last} is closed\n")
        return 0
    sys.stdout.write(f"closing {', '.join(periods)}\n")
    if args.no_wait or not (args.wait or sys.stdout.isatty()):
        return 0
    wait_for_closes(app.store.billing, periods, args.timeout, show_bar=sys.stdout.isatty())
    for p in periods:
        sys.stdout.write(f"closed {p}: {app.store.ledger.count(p)} charge(s)\n")
    return 0


def wait_for_closes(
    billing: RedisBilling, periods: list[str], timeout_s: float, show_bar: bool
) -> None:
    """Until every close has finished; the bar counts shards done / total."""
    deadline = clock.monotonic() + timeout_s
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show_bar,
    ) as bar:
        tasks = {p: bar.add_task(f"closing {p}", total=None) for p in periods}
        pending = set(periods)
        while pending:
            for p in sorted(pending):
                status = billing.status(p)
                if status is None:
                    continue
                bar.update(tasks[p], total=status.total, completed=status.done)
                if status.state == "closed":
                    pending.discard(p)
            if pending and clock.monotonic() > deadline:
                raise CommandFailed(
                    f"close of {', '.join(sorted(pending))} still running after {timeout_s:.0f}s "
                    "(are workers consuming the billing queue?)"
                )
            clock.sleep(0.1)

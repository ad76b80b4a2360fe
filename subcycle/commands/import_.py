"""``subcycle import FILE``: the lifecycle events of existing contracts,
applied straight to the store in bulk (go-live), with ``publish``'s edge.

The file is judged as ``publish`` judges it (the same lines, fields and
words); events other than a contract's purchases, renewal consents and
cancellations are refused naming their line; any problem, and nothing is
imported. Then every event goes through the handler its worker would run
(workers/importer.py), so the outcome is that of publishing and draining.
Each process judges the lines it will apply (workers/import_run.py);
an event id imported is done, and importing or publishing it again is a
duplicate. Follow-ups are withheld: an import sends no message.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from subcycle.bootstrap import Core, importer, publisher
from subcycle.commands.common import CommandFailed, UsageError, add_redis_option, open_core
from subcycle.commands.publish import line_named, read_lines, refusal_text
from workers.import_run import Target, import_lines
from workers.importer import ImportFailed, ImportReport, Withheld
from workers.ingest import Refused

NOTHING = "nothing imported"
THREADS = 16


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="apply a JSON-lines file of existing contracts' lifecycle events to the store",
    )
    p.add_argument("file", nargs="?", default="-", help="a JSON-lines file, or - for stdin")
    p.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="processes, each taking its share of the subscriptions (default: one per CPU)",
    )
    p.add_argument(
        "--threads", type=int, default=THREADS, help=f"threads per process (default {THREADS})"
    )
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.processes < 1 or args.threads < 1:
        raise UsageError("--processes and --threads must be at least 1")
    lines = read_lines(args.file, NOTHING)
    store = _Store(args)
    withheld = Withheld()
    target = Target(
        open=store.open,
        claims=lambda: publisher(store.open()),
        deps=lambda: importer(store.open(), withheld),
    )
    with (
        _no_line_per_event(),
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not sys.stderr.isatty(),
        ) as bar,
    ):
        checking = bar.add_task("checking", total=len(lines))
        importing = bar.add_task("importing", total=len(lines), start=False)

        def applied(n: int) -> None:
            bar.start_task(importing)
            bar.advance(importing, n)

        try:
            report = import_lines(
                lines,
                target,
                line_named,
                processes=args.processes,
                threads=args.threads,
                checked=lambda n: bar.advance(checking, n),
                done=applied,
            )
        except Refused as e:
            raise CommandFailed(refusal_text(e.problems, NOTHING)) from None
        except ImportFailed as e:
            raise CommandFailed(
                f"import stopped ({e}) after {e.report.handled} event(s); what was applied "
                "stays, and importing the same file again applies the rest"
            ) from None
    sys.stdout.write(_summary(report) + "\n")
    if report.refused:
        refused = sorted(report.refused, key=lambda r: r.position)
        said = [f"line {r.position}: {r.reason}: {r.detail}" for r in refused]
        raise CommandFailed(
            "refused (kept as refused events: subcycle dead-letters list):\n  " + "\n  ".join(said)
        )
    return 0


class _Store:
    """The store, opened (and, in production, checked) on first use in each
    process: by the parent once the file has passed, so a bad file is named
    whether or not Redis answers; by each importing process after its fork,
    on connections of its own."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self._core: Core | None = None
        self._pid = 0

    def open(self) -> Core:
        if self._core is None or self._pid != os.getpid():
            self._core, self._pid = open_core(self._args), os.getpid()
        return self._core


@contextmanager
def _no_line_per_event() -> Iterator[None]:
    """The summary says what each event did: the handlers' line per event is
    quieted while the import runs, and the levels are given back after (a
    test or a library caller goes on with its own)."""
    quieted = {"workers.handlers.lifecycle": logging.WARNING, "workers.actors": logging.ERROR}
    loggers = {name: logging.getLogger(name) for name in quieted}
    before = {name: logger.level for name, logger in loggers.items()}
    for name, logger in loggers.items():
        logger.setLevel(quieted[name])
    try:
        yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(before[name])


def _summary(report: ImportReport) -> str:
    said = (
        f"imported {report.handled} event(s): {report.applied} applied, "
        f"{report.duplicates} duplicate(s), {report.ruled} refused by a rule (in the history)"
    )
    if report.refused:
        said += f", {len(report.refused)} refused"
    if report.withheld:
        said += f"; {report.withheld} follow-up event(s) withheld"
    return said + "; no message sent"

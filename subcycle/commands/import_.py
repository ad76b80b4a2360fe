"""``subcycle import FILE``: the lifecycle events of existing contracts,
applied straight to the store in bulk (go-live), with ``publish``'s edge.

The file is judged as ``publish`` judges it (the same lines, fields and
words); events other than a contract's purchases, renewal consents and
cancellations are refused naming their line; any problem, and nothing is
imported. Then every event goes through the handler its worker would run
(workers/importer.py), so the outcome is that of publishing and draining;
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

from subcycle.bootstrap import importer, publisher
from subcycle.commands.common import CommandFailed, UsageError, add_redis_option, open_core
from subcycle.commands.publish import line_named, read_lines, refusal_text
from workers.importer import (
    ImportFailed,
    ImportReport,
    Withheld,
    import_events,
    not_contract_events,
)
from workers.ingest import Refused, judge, refuse_reused

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
    judged = judge(read_lines(args.file, NOTHING), line_named)
    problems = sorted(judged.problems + not_contract_events(judged), key=lambda p: p.position)
    if problems:
        raise CommandFailed(refusal_text(problems, NOTHING))
    base = open_core(args)
    try:
        refuse_reused(publisher(base), judged)
    except Refused as e:
        raise CommandFailed(refusal_text(e.problems, NOTHING)) from None
    withheld = Withheld()
    with (
        _no_line_per_event(),
        Progress(
            TextColumn("[bold]importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not sys.stderr.isatty(),
        ) as bar,
    ):
        task = bar.add_task("importing", total=len(judged.events))
        try:
            report = import_events(
                judged.events,
                lambda: importer(base, withheld),
                processes=args.processes,
                threads=args.threads,
                done=lambda n: bar.advance(task, n),
            )
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

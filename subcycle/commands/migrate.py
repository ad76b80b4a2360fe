"""``subcycle migrate``: move the store to the compact layout (store/migrate.py).

Idempotent and resumable: run it again after an interruption, or twice."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from store.migrate import MigrationReport, migrate
from subcycle.commands.common import add_redis_option, open_core


def register(sub: Any) -> None:
    p = sub.add_parser("migrate", help="move the store to the compact layout (idempotent)")
    p.add_argument("--batch", type=int, default=1_000, help="keys per SCAN step")
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    app = open_core(args)
    tty = sys.stderr.isatty()

    def progress(report: MigrationReport) -> None:
        if tty:
            sys.stderr.write(f"\r{report.seen:,} subscriptions seen, {report.migrated:,} moved")

    report = migrate(app.client, app.store.keys, max(1, args.batch), progress)
    if tty:
        sys.stderr.write("\n")
    print(
        f"migrated {report.migrated:,} of {report.seen:,} subscription(s); moved "
        f"{report.spans:,} billing span(s), {report.charges:,} charge(s), "
        f"{report.phones:,} phone(s), {report.claims:,} claim(s)"
    )
    return 0

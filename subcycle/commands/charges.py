"""``subcycle charges --period YYYY-MM [--json|--csv]``: the ledger of a closed
month, for the carrier's billing batch. A month not closed, or still closing,
is refused (``period_not_closed``): a partial month is never exported."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.table import Table

from events.reasons import Refusal
from events.types import parse_period
from store.ledger import Charge
from subcycle.commands.common import CommandFailed, UsageError, add_redis_option, open_core
from subcycle.views import CHARGE_COLUMNS, charge_json, charges_csv, closed_ledger


def register(sub: Any) -> None:
    p = sub.add_parser("charges", help="the ledger of a closed billing month")
    p.add_argument("--period", required=True, help="the billing month, YYYY-MM")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="a JSON list of charges")
    shape.add_argument("--csv", action="store_true", help="CSV with a header line")
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        parse_period(args.period)
    except ValueError as e:
        raise UsageError(f"--period: {e}") from None
    app = open_core(args)
    try:
        rows = closed_ledger(app.store.ledger, args.period)
    except Refusal as e:
        raise CommandFailed(str(e)) from None
    if args.json:
        _write_json(rows)
    elif args.csv:
        sys.stdout.writelines(charges_csv(rows))
    else:
        _print_table(args.period, rows)
    return 0


def _write_json(rows: Iterator[Charge]) -> None:
    """A JSON list, streamed: a month's ledger need not fit in memory."""
    out = sys.stdout
    out.write("[")
    for i, c in enumerate(rows):
        out.write(("," if i else "") + "\n  " + json.dumps(charge_json(c), ensure_ascii=False))
    out.write("\n]\n")


def _print_table(period: str, rows: Iterator[Charge]) -> None:
    table = Table(title=f"Charges — {period}")
    for column in CHARGE_COLUMNS:
        table.add_column(column, justify="right" if column == "amount_jpy" else "left")
    count = total = 0
    for c in sorted(rows, key=lambda c: c.subscription_id):
        table.add_row(c.subscription_id, c.phone, c.period, f"{c.amount_jpy:,}")
        count += 1
        total += c.amount_jpy
    table.add_section()
    table.add_row(f"{count} charge(s)", "", "total", f"¥{total:,}")
    Console().print(table)

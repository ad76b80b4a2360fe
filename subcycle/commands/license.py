"""``subcycle license ID [--json]``: the license information page's data."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from subcycle.commands.common import (
    CommandFailed,
    add_redis_option,
    open_core,
    print_json,
    timestamp_option,
)
from subcycle.views import license_json


def register(sub: Any) -> None:
    p = sub.add_parser("license", help="the license information page of a subscription")
    p.add_argument("subscription_id")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--at", help="show it as it stood at this ISO-8601 time (with offset)")
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    at = None if args.at is None else timestamp_option("--at", args.at)
    app = open_core(args)
    sub = app.store.subscriptions.get(args.subscription_id, at)
    if sub is None:
        raise CommandFailed(f"unknown_subscription: no subscription {args.subscription_id!r}")
    view = license_json(sub)
    if args.json:
        print_json(view)
        return 0
    console = Console()
    table = Table(title=f"License information — {sub.subscription_id}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key in (
        "license_type",
        "product",
        "plan",
        "term_years",
        "starts_on",
        "expires_on",
        "monthly_started_on",
        "auto_renewal",
        "service_until",
        "cancelled_at",
        "monthly_fee_jpy",
        "last_billed_period",
        "notice",
    ):
        value = view[key]
        if value is not None:
            table.add_row(key.replace("_", " ").capitalize(), str(value))
    console.print(table)
    history = Table(title="History")
    for column in ("at", "type", "outcome", "event_id"):
        history.add_column(column)
    for h in view["history"]:
        outcome = h["outcome"] + (f" ({h['reason']})" if h["reason"] else "")
        history.add_row(h["at"], h["type"], outcome, h["event_id"])
    console.print(history)
    return 0

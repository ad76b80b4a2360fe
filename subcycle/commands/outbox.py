"""``subcycle outbox [--phone P] [--json]``: what the built-in outbox gateway
delivered, oldest first. Development only: it holds verification codes too."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from events import normalise_phone
from subcycle.commands.common import UsageError, add_redis_option, open_core, print_json
from workers.gateway.outbox import OutboxGateway

FIELDS = ("message_id", "to", "channel", "kind", "text", "sent_at")


def register(sub: Any) -> None:
    p = sub.add_parser("outbox", help="messages delivered by the built-in outbox gateway")
    p.add_argument("--phone", help="only messages to this number (any form: 090-…, +8190…)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    phone = None
    if args.phone is not None:
        try:
            phone = normalise_phone(args.phone)
        except ValueError as e:
            raise UsageError(f"--phone: {e}") from None
    app = open_core(args)
    if app.settings.env != "development":
        raise UsageError(
            "the outbox gateway exists only in development (SUBCYCLE_ENV=development): "
            "in production messages leave through SUBCYCLE_GATEWAY=http"
        )
    rows = [
        {field: row.get(field) for field in FIELDS}
        for row in OutboxGateway(app.client, app.store.keys).messages(phone)
    ]
    if args.json:
        print_json(rows)
        return 0
    table = Table(title=f"Outbox — {len(rows)} message(s)")
    for column in ("sent_at", "to", "channel", "kind", "text"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("sent_at", "to", "channel", "kind", "text")))
    Console().print(table)
    return 0

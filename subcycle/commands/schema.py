"""``subcycle schema``: the JSON Schema of the event catalogue."""

from __future__ import annotations

import argparse
from typing import Any

from events import json_schema
from subcycle.commands.common import print_json


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of the event catalogue")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print_json(json_schema())
    return 0

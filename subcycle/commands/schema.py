"""``subcycle schema [--against FILE]``: the JSON Schema of the event
catalogue, or what changed since an earlier one (docs/schema.md).

With ``--against``, every change is listed on stdout, breaking ones first;
the exit is 1 when any change breaks a publisher of the earlier schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from events import json_schema
from events.compat import NotACatalogue, compare, render
from subcycle.commands.common import UsageError, print_json


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of the event catalogue")
    p.add_argument(
        "--against",
        metavar="FILE",
        help="compare with an earlier schema (e.g. schema/events.v1.json); exit 1 if "
        "a change breaks its publishers",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.against is None:
        print_json(json_schema())
        return 0
    earlier = _read(args.against)
    try:
        changes = compare(earlier, json_schema())
    except NotACatalogue as e:
        raise UsageError(f"{args.against}: {e}") from None
    sys.stdout.write(render(changes))
    return 1 if any(change.breaking for change in changes) else 0


def _read(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply") from None

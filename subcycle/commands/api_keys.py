"""``subcycle api-keys create|list|revoke``: keys for the HTTP API and the
console. A key is printed once, when made; only its hash is stored."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api import scopes
from events.types import parse_identifier
from store.apikeys import KeyExists
from subcycle.commands.common import (
    CommandFailed,
    UsageError,
    add_redis_option,
    open_core,
    print_json,
)


def register(sub: Any) -> None:
    p = sub.add_parser("api-keys", help="make, list and revoke API keys")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key; it is printed once")
    create.add_argument("name", help="who holds it (e.g. pos-shibuya)")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        help="what it may do, repeatable: " + ", ".join(scopes.every_scope()),
    )
    listing = actions.add_parser("list", help="names, scopes and last use")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    revoke = actions.add_parser("revoke", help="stop a key at once")
    revoke.add_argument("name")
    for parser, runner in ((create, run_create), (listing, run_list), (revoke, run_revoke)):
        add_redis_option(parser)
        parser.set_defaults(run=runner)


def run_create(args: argparse.Namespace) -> int:
    try:
        name = parse_identifier(args.name)
    except ValueError as e:
        raise UsageError(f"NAME: {e}") from None
    for scope in args.scope:
        problem = scopes.problem_with(scope)
        if problem is not None:
            raise UsageError(f"--scope: {problem}")
    opened = open_core(args)
    try:
        key = opened.store.api_keys.create(name, frozenset(args.scope), opened.clock())
    except KeyExists:
        raise CommandFailed(f"a key named {name!r} exists; revoke it first") from None
    sys.stdout.write(key + "\n")
    sys.stderr.write(f"key {name!r} made with {', '.join(sorted(args.scope))}; it is shown once\n")
    return 0


def run_list(args: argparse.Namespace) -> int:
    keys = open_core(args).store.api_keys.list()
    rows: list[dict[str, Any]] = [
        {
            "name": k.name,
            "scopes": sorted(k.scopes),
            "created_at": k.created_at.isoformat(),
            "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
        }
        for k in keys
    ]
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        used = row["last_used_at"] or "never used"
        sys.stdout.write(f"{row['name']}  {' '.join(row['scopes'])}  {used}\n")
    sys.stdout.write(f"{len(rows)} key(s)\n")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    if not open_core(args).store.api_keys.revoke(args.name):
        raise CommandFailed(f"no key named {args.name!r}")
    sys.stdout.write(f"revoked {args.name}\n")
    return 0

"""The ``subcycle`` console script. Exit codes: 0 success, 1 a refused or
failed operation (reason on stderr), 2 a usage error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import redis

from subcycle.commands import COMMANDS
from subcycle.commands.common import CommandFailed, UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="subcycle",
        description="Subscription lifecycle engine: events, workers, scheduler and ledger.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as e:
        sys.stderr.write(f"subcycle {args.command}: error: {e}\n")
        return 2
    except CommandFailed as e:
        sys.stderr.write(f"subcycle {args.command}: {e}\n")
        return 1
    except (redis.ConnectionError, redis.TimeoutError) as e:
        sys.stderr.write(f"subcycle {args.command}: Redis connection failed: {e}\n")
        return 1
    except redis.exceptions.NoPermissionError as e:  # an ACL user without this role's grants
        sys.stderr.write(f"subcycle {args.command}: Redis refused this user: {e}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())

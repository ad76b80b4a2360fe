"""``subcycle dead-letters list|retry|purge``: refused events and dead letters.

One list joins Dramatiq's dead letters (kept 7 days) with the durable record
of refused events (kept until purged); see ``workers/dead_letters.py``.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timedelta
from typing import Any

from events import JST, Queue
from subcycle.bootstrap import publisher
from subcycle.commands.common import (
    CommandFailed,
    UsageError,
    add_redis_option,
    open_core,
    print_json,
)
from workers.dead_letters import DeadLetter, DeadLetters

QUEUES = [q.value for q in Queue]


def register(sub: Any) -> None:
    p = sub.add_parser("dead-letters", help="inspect, retry and purge dead letters")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    show = actions.add_parser("list", help="every dead letter: event, reason, time")
    show.add_argument("--queue", choices=QUEUES)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_redis_option(show)
    show.set_defaults(run=run_list)

    for name, helptext, runner in (
        ("retry", "put dead letters back (a still-bad event is refused again)", run_retry),
        ("purge", "delete dead letters and their records for good", run_purge),
    ):
        act = actions.add_parser(name, help=helptext)
        which = act.add_mutually_exclusive_group(required=True)
        which.add_argument("ids", nargs="*", default=[], metavar="ID", help="dead letter ids")
        which.add_argument("--queue", choices=QUEUES, help="every dead letter of this queue")
        which.add_argument("--all", action="store_true", help="every dead letter")
        if name == "purge":
            which.add_argument(
                "--older-than",
                metavar="AGE",
                help="every dead letter refused longer ago than AGE (90d, 12h, 30m)",
            )
        act.add_argument("--yes", action="store_true", help="do not ask before a bulk action")
        add_redis_option(act)
        act.set_defaults(run=runner)


def _dead_letters(args: argparse.Namespace) -> DeadLetters:
    opened = open_core(args)
    return DeadLetters(opened.store, publisher(opened), opened.settings.queue_namespace)


def run_list(args: argparse.Namespace) -> int:
    letters = _dead_letters(args).all(args.queue)
    if args.json:
        print_json([d.to_json() for d in letters])
        return 0
    if not letters:
        sys.stdout.write("no dead letters\n")
        return 0
    for d in letters:
        where = (
            "record+XQ"
            if d.recorded and d.in_dead_letter_queue
            else ("record" if d.recorded else "XQ")
        )
        sys.stdout.write(
            f"{d.id}  {d.at.isoformat(timespec='seconds')}  {d.queue}  "
            f"{d.type or '?'} {d.event_id or '-'}  {d.reason}: {d.detail}  [{where}]\n"
        )
    sys.stdout.write(f"{len(letters)} dead letter(s)\n")
    return 0


def _chosen(args: argparse.Namespace, letters: DeadLetters, verb: str) -> list[DeadLetter]:
    if args.ids:
        chosen: list[DeadLetter] = []
        every = {d.id: d for d in letters.all()}
        for dead_id in args.ids:
            if dead_id not in every:
                raise CommandFailed(f"unknown dead letter {dead_id!r} (see 'dead-letters list')")
            chosen.append(every[dead_id])
        return chosen
    chosen = letters.all(args.queue)
    if chosen and not args.yes:
        scope = f"queue {args.queue}" if args.queue else "every queue"
        if not _confirm(f"{verb} {len(chosen)} dead letter(s) of {scope}? [y/N] "):
            raise CommandFailed(f"not confirmed, nothing done (--yes: {verb} without asking)")
    return chosen


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def run_retry(args: argparse.Namespace) -> int:
    letters = _dead_letters(args)
    chosen = _chosen(args, letters, "retry")
    refused = 0
    for d in chosen:
        outcome = letters.retry(d)
        refused += outcome == "refused"
        sys.stdout.write(f"{d.id}: {outcome}\n")
    sys.stdout.write(f"retried {len(chosen) - refused} of {len(chosen)} dead letter(s)\n")
    if refused:
        raise CommandFailed(
            f"{refused} dead letter(s) could not be retried (event id reused by another "
            "payload, or nothing valid left to send); they are kept"
        )
    return 0


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``45s`` (or a number of days)."""
    match = re.fullmatch(r"([0-9]{1,6})([dhms]?)", text.strip())
    if match is None:
        raise UsageError(f"--older-than: expected an age such as 90d, 12h or 30m, got {text!r}")
    unit = {"d": "days", "": "days", "h": "hours", "m": "minutes", "s": "seconds"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def run_purge(args: argparse.Namespace) -> int:
    if args.older_than is not None:
        age = parse_age(args.older_than)
        dropped = _dead_letters(args).purge_older_than(datetime.now(JST) - age)
        sys.stdout.write(f"purged {dropped} dead letter(s) older than {args.older_than}\n")
        return 0
    letters = _dead_letters(args)
    chosen = _chosen(args, letters, "purge")
    for d in chosen:
        letters.purge(d)
    sys.stdout.write(f"purged {len(chosen)} dead letter(s)\n")
    return 0

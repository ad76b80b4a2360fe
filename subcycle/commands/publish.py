"""``subcycle publish [FILE|-]``: validate JSON-lines events and enqueue them.

All or nothing: if any line is bad, nothing is enqueued and every bad line is
named with its fields.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from events import Event, InvalidEvent, parse_upstream_json
from subcycle.bootstrap import publisher
from subcycle.commands.common import CommandFailed, UsageError, add_redis_option, open_core


def register(sub: Any) -> None:
    p = sub.add_parser("publish", help="validate JSON-lines events and enqueue them")
    p.add_argument("file", nargs="?", default="-", help="a JSON-lines file, or - for stdin")
    add_redis_option(p)
    p.set_defaults(run=run)


def read_events(lines: list[str]) -> tuple[list[Event], list[str], dict[str, int]]:
    """Parse every line; return the events, a message per bad line, and the
    line each event id was first read on."""
    events: list[Event] = []
    problems: list[str] = []
    first_seen: dict[str, tuple[int, Event]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = parse_upstream_json(line)
        except InvalidEvent as e:
            problems.extend(f"line {number}: {problem}" for problem in e.problems)
            continue
        earlier = first_seen.setdefault(event.event_id, (number, event))
        # Digests only for an id seen twice: most files repeat none.
        if earlier[1] is not event and earlier[1].fingerprint() != event.fingerprint():
            problems.append(
                f"line {number}: event_id: event_id_reused (line {earlier[0]} has "
                f"{event.event_id!r} with another payload)"
            )
            continue
        events.append(event)
    return events, problems, {event_id: seen[0] for event_id, seen in first_seen.items()}


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.file, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise UsageError(f"cannot read {args.file}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise CommandFailed(f"{args.file}: not UTF-8 text; nothing enqueued") from None
    # JSON lines end at \n only: str.splitlines would also split on form feeds
    # and Unicode separators inside a line, and misnumber every line after.
    events, problems, line_of = read_events([line.removesuffix("\r") for line in text.split("\n")])
    if problems:
        raise CommandFailed(_refusal(problems))
    sender = publisher(open_core(args))
    reused = sender.reused_ids(events)
    if reused:
        raise CommandFailed(
            _refusal(
                [
                    f"line {line_of[r]}: event_id: event_id_reused ({r!r} was published "
                    "before with another payload)"
                    for r in sorted(reused, key=line_of.__getitem__)
                ]
            )
        )
    result = sender.publish(events)
    if result.reused:
        # Only when another publisher claimed an id between the check and the
        # enqueue: the rest of the file went through, these did not.
        lines = [f"line {line_of[r]}: event_id: event_id_reused ({r!r})" for r in result.reused]
        raise CommandFailed(
            f"enqueued {result.enqueued} event(s); refused:\n  " + "\n  ".join(lines)
        )
    sys.stdout.write(
        f"enqueued {result.enqueued} event(s); {result.duplicates} duplicate(s) skipped\n"
    )
    return 0


def _refusal(problems: list[str]) -> str:
    return "refused, nothing enqueued:\n  " + "\n  ".join(problems)

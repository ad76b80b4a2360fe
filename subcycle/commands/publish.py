"""``subcycle publish [FILE|-]``: validate JSON-lines events and enqueue them.

All or nothing: if any line is bad, nothing is enqueued and every bad line is
named with its fields.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from subcycle.bootstrap import publisher
from subcycle.commands.common import CommandFailed, UsageError, add_redis_option, open_core
from workers import cyclegc
from workers.ingest import ItemProblem, Refused, judge, publish_all
from workers.publisher import NotDurable


def register(sub: Any) -> None:
    p = sub.add_parser("publish", help="validate JSON-lines events and enqueue them")
    p.add_argument("file", nargs="?", default="-", help="a JSON-lines file, or - for stdin")
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with cyclegc.paused():  # the file's events are held to the end
        return _publish(args)


def _publish(args: argparse.Namespace) -> int:
    judged = judge(read_lines(args.file, "nothing enqueued"), line_named)
    if judged.problems:
        raise CommandFailed(_refusal(judged.problems))
    opened = open_core(args, checked=True)
    sender = publisher(opened)
    try:
        result = publish_all(sender, judged)
    except Refused as e:
        raise CommandFailed(_refusal(e.problems)) from None
    except NotDurable as e:
        raise CommandFailed(
            f"not acknowledged: {e} (SUBCYCLE_DURABILITY={opened.settings.durability}); the events "
            "may or may not be stored and are safe to publish again (their event ids make a "
            "republish skip what is there)"
        ) from None
    if result.reused:
        # Only when another publisher claimed an id between the check and the
        # enqueue: the rest of the file went through, these did not.
        line_of = {event.event_id: n for n, event in judged.events}
        lines = [f"line {line_of[r]}: event_id: event_id_reused ({r!r})" for r in result.reused]
        raise CommandFailed(
            f"enqueued {result.enqueued} event(s); refused:\n  " + "\n  ".join(lines)
        )
    sys.stdout.write(
        f"enqueued {result.enqueued} event(s); {result.duplicates} duplicate(s) skipped\n"
    )
    return 0


def read_lines(file: str, nothing: str) -> list[tuple[int, str]]:
    """The non-blank lines of a JSON-lines file (``-``: stdin), numbered from 1;
    ``nothing`` says what was not done when the file cannot be read."""
    if file == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(file, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise UsageError(f"cannot read {file}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise CommandFailed(f"{file}: not UTF-8 text; {nothing}") from None
    # JSON lines end at \n only: str.splitlines would also split on form feeds
    # and Unicode separators inside a line, and misnumber every line after.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return [(n, line) for n, line in enumerate(lines, 1) if line.strip()]


def line_named(number: int) -> str:
    return f"line {number}"


def _refusal(problems: list[ItemProblem]) -> str:
    return refusal_text(problems, "nothing enqueued")


def refusal_text(problems: list[ItemProblem], nothing: str) -> str:
    said = [f"line {p.position}: {p.problem}" for p in problems]
    return f"refused, {nothing}:\n  " + "\n  ".join(said)

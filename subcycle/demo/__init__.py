"""``subcycle demo``: the customer story on the embedded Redis, as a timeline."""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
from pydantic import SecretStr
from rich.console import Console

from events import JST
from store.connection import MEMORY_URL, BadRedisUrl, connect, redact
from subcycle import logs
from subcycle.bootstrap import build
from subcycle.commands.common import CommandFailed, UsageError
from subcycle.demo import annual, billing, http, login, spine
from subcycle.demo.story import Story
from subcycle.settings import Settings

# In the order of the customer's story (SPEC section 1): the annual contract
# and its reminders, logging in, the license page's cancellations, billing.
CHAPTERS: list[Callable[[Story], None]] = [
    annual.tell,  # bought at the shop; reminders; consent; switch to monthly or expiry
    login.tell,  # a verification code by voice, resends, registration, SMS
    spine.tell,  # cancelling the monthly service or automatic renewal; refusals
    billing.tell,  # month-end billing and the ledger
    http.tell,  # the same story over HTTP, with scoped keys
]


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="the customer story on the embedded Redis (no server needed)")
    p.add_argument("--redis-url", help="run it against a real Redis instead (demo keys only)")
    p.set_defaults(run=run)


def demo_clock() -> datetime:
    return datetime(2026, 7, 1, 12, 0, tzinfo=JST)


def _start_afresh(client: redis.Redis, prefix: str) -> None:
    """On a real server the demo owns only its prefix; it clears it so a
    second run tells the same story instead of replaying duplicates."""
    try:
        stale = list(client.scan_iter(match=f"{prefix}*", count=1000))
    except (redis.ConnectionError, redis.TimeoutError) as e:
        raise CommandFailed(f"cannot reach Redis: {e}") from None
    for start in range(0, len(stale), 500):
        client.delete(*stale[start : start + 500])


def run(args: argparse.Namespace) -> int:
    url = args.redis_url or MEMORY_URL
    prefix = "subcycle-demo:" if args.redis_url else "subcycle:"
    # Always development: the outbox shows the story's messages, and a secret
    # made for this run signs its codes (never a file, never production's).
    settings = Settings(
        env="development",
        gateway="outbox",
        otp_secret=SecretStr(secrets.token_hex(32)),
        redis_url=url,
        key_prefix=prefix,
        queue_namespace=prefix.rstrip(":"),
        log_level="WARNING",
    )
    logs.configure("console", "WARNING")
    try:
        client = connect(url)
    except BadRedisUrl as e:
        raise UsageError(f"--redis-url: {e}") from None
    if args.redis_url:
        _start_afresh(client, prefix)
    app = build(settings, client=client, clock=demo_clock)
    console = Console(width=110, highlight=False)
    console.print(
        "[bold]subcycle demo[/bold] — the customer story, on "
        + ("the embedded Redis" if url == MEMORY_URL else redact(url))
    )
    story = Story(app, console)
    for chapter in CHAPTERS:
        chapter(story)
    console.rule()
    return 0

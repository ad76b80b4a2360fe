"""What every command shares: opening the app, and how failures are said."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

import redis

from events import JST
from events.types import parse_timestamp
from store.connection import is_embedded
from subcycle import logs
from subcycle.bootstrap import App, build
from subcycle.settings import Settings


class CommandFailed(Exception):
    """A refused or failed operation: exit 1, reason on stderr."""


class UsageError(Exception):
    """The command was used wrongly: exit 2."""


def add_redis_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis-url",
        help="Redis server (default: $SUBCYCLE_REDIS_URL or redis://127.0.0.1:6379/0)",
    )


def open_app(args: argparse.Namespace, *, allow_memory: bool = False) -> App:
    settings = Settings()
    url = getattr(args, "redis_url", None) or settings.redis_url
    if is_embedded(url) and not allow_memory:
        raise UsageError(
            "memory:// (the embedded Redis) lives inside one process and serves "
            "'subcycle demo' only; give a real server with --redis-url or SUBCYCLE_REDIS_URL"
        )
    settings = settings.model_copy(update={"redis_url": url})
    logs.configure(settings.log_format, settings.log_level)
    app = build(settings)
    try:
        app.client.ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
        raise CommandFailed(f"cannot reach Redis at {_safe_url(url)}: {e}") from None
    return app


def _safe_url(url: str) -> str:
    """Never print a password from the URL."""
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def timestamp_option(option: str, text: str) -> datetime:
    """A command-line time: ISO-8601 with an offset, in JST; else a usage error
    naming the option."""
    try:
        parsed: datetime = parse_timestamp(text)
    except ValueError as e:
        raise UsageError(f"{option}: {e}") from None
    return parsed.astimezone(JST)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")

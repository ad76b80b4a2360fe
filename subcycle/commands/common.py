"""What every command shares: opening the app, and how failures are said."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
import structlog
from pydantic import ValidationError

from events import JST
from events.types import parse_timestamp
from store.connection import BadRedisUrl, connect, is_embedded, redact
from store.roundtrips import RoundTrips
from subcycle import logs
from subcycle.bootstrap import Core, core
from subcycle.preflight import NotReady, check_redis, require_ready
from subcycle.settings import Settings

log = structlog.get_logger(__name__)


class CommandFailed(Exception):
    """A refused or failed operation: exit 1, reason on stderr."""


class UsageError(Exception):
    """The command was used wrongly: exit 2."""


def add_redis_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis-url",
        help="Redis server (default: $SUBCYCLE_REDIS_URL or redis://127.0.0.1:6379/0)",
    )


def load_settings(*, guarded: bool = False) -> Settings:
    """The settings from the environment; a bad value is a usage error naming
    its variable. ``guarded``: this command runs actors, the scheduler or
    the API, or verifies codes, so production must be ready for it."""
    try:
        settings = Settings()
    except ValidationError as e:
        raise UsageError(_settings_problems(e)) from None
    if guarded:
        try:
            require_ready(settings)
        except NotReady as e:
            raise UsageError("\n  ".join(e.problems)) from None
    return settings


def _settings_problems(error: ValidationError) -> str:
    problems = []
    for err in error.errors():
        name = "SUBCYCLE_" + "_".join(str(part) for part in err["loc"]).upper()
        problems.append(f"{name}: {str(err['msg']).removeprefix('Value error, ')}")
    return "\n  ".join(problems)


def open_core(
    args: argparse.Namespace,
    *,
    allow_memory: bool = False,
    guarded: bool = False,
    checked: bool | None = None,
    io: Callable[[redis.Redis], RoundTrips] | None = None,
) -> Core:
    """The settings, a client that answered and the store: what every command
    builds on (subcycle/bootstrap.py). ``io`` makes the store's round trips
    (a worker process shares a coalescer with its broker). ``checked``
    (default: as ``guarded``): this command writes, so in production the
    Redis server is checked first (``preflight.check_redis``)."""
    settings = load_settings(guarded=guarded)
    url = getattr(args, "redis_url", None) or settings.redis_url
    if is_embedded(url) and not allow_memory:
        raise UsageError(
            "memory:// (the embedded Redis) lives inside one process and serves "
            "'subcycle demo' only; give a real server with --redis-url or SUBCYCLE_REDIS_URL"
        )
    settings = settings.model_copy(update={"redis_url": url})
    logs.configure(settings.log_format, settings.log_level)
    try:
        client = connect(settings.redis_url)
    except BadRedisUrl as e:
        raise UsageError(f"SUBCYCLE_REDIS_URL: {e}") from None
    opened = core(settings, client=client, io=io(client) if io is not None else None)
    try:
        client.ping()
    except (redis.AuthenticationError, redis.exceptions.AuthorizationError) as e:
        raise CommandFailed(
            f"Redis at {redact(url)} refused the user and password of the URL "
            f"(user:password@ in SUBCYCLE_REDIS_URL): {e}"
        ) from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
        raise CommandFailed(f"cannot reach Redis at {redact(url)}: {e}") from None
    if guarded if checked is None else checked:
        _check_server(opened)
    return opened


def _check_server(opened: Core) -> None:
    found = check_redis(opened.client, opened.settings)
    for note in found.notes:
        log.warning("redis_not_checked", detail=note)
    if found.problems:
        raise CommandFailed("\n  ".join(found.problems))


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

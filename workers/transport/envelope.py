"""Judging a Dramatiq message found on a queue (SPEC section 11).

Dramatiq trusts what it finds in Redis; we trust a message only as far as
our own publisher (and Dramatiq's own retries) write one. Every field of the
envelope is checked for its type and bounds before any middleware or actor
sees it, and options that would change an actor's retries, back-off, age,
time limit or delay are never taken from a message: an envelope that
carries one is poison, moved aside with its reason.

What a message may carry, exactly:

- ``queue_name`` the queue it was fetched from, ``actor_name`` an actor that
  consumes that queue, ``args`` a list and ``kwargs`` an object the actor
  can take, ``message_id`` a short id, ``message_timestamp`` integer
  milliseconds not in the future;
- ``options``: ``redis_message_id`` (the very id it was fetched under),
  ``retries`` (0 … the actor's own ``max_retries``), ``traceback`` and
  ``requeue_timestamp`` (written by Dramatiq's retries), and ``eta`` only on
  a delay queue and within ``MAX_DELAY_MS``.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dramatiq import Actor
from dramatiq.common import q_name
from dramatiq.message import Message

from events.reasons import Reason

MAX_MESSAGE_BYTES = 256 * 1024
MAX_TRACEBACK_CHARS = 64 * 1024
# Dramatiq's own cap on a retry's back-off: no delay of ours is longer.
MAX_DELAY_MS = 7 * 24 * 3_600_000
# Hosts' clocks differ a little; a timestamp further ahead is a forgery that
# would keep a message from ever growing too old (max_age).
CLOCK_SKEW_MS = 5 * 60_000
_MESSAGE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_FIELDS = frozenset(
    {"queue_name", "actor_name", "args", "kwargs", "options", "message_id", "message_timestamp"}
)
# Options that change how often, how late or how long an actor runs: the
# actor's own settings decide, never a message.
_NEVER_FROM_A_MESSAGE = frozenset(
    {"max_retries", "min_backoff", "max_backoff", "max_age", "time_limit", "retry_when"}
)


@dataclass(frozen=True)
class Poison:
    reason: Reason
    detail: str
    fields: dict[str, Any] | None = None  # the decoded envelope, when it decoded


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_envelope(
    redis_message_id: str,
    data: bytes | None,
    queue_name: str,
    actors: Mapping[str, Actor[Any, Any]],
    now_ms: int,
) -> Message[Any] | Poison:
    """The message, when it is safe to run; else why it is poison."""
    if data is None:
        return Poison(Reason.MISSING_BODY, "the message id has no stored body")
    if len(data) > MAX_MESSAGE_BYTES:
        return Poison(Reason.MALFORMED_MESSAGE, f"message: larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        fields = json.loads(data)
    except (ValueError, RecursionError) as e:
        return Poison(
            Reason.UNDECODABLE, f"not a Dramatiq message: {type(e).__name__}: {str(e)[:200]}"
        )
    if not isinstance(fields, dict):
        return Poison(Reason.UNDECODABLE, "not a Dramatiq message: not a JSON object")
    try:
        problem = _problem(fields, redis_message_id, queue_name, actors, now_ms)
    except Exception as e:  # a check must never stop the consumer
        problem = (Reason.MALFORMED_MESSAGE, f"unreadable envelope: {type(e).__name__}")
    if problem is not None:
        return Poison(problem[0], problem[1], fields)
    return Message(**fields)


def _problem(
    fields: dict[str, Any],
    rid: str,
    queue_name: str,
    actors: Mapping[str, Actor[Any, Any]],
    now_ms: int,
) -> tuple[Reason, str] | None:
    if set(fields) != _FIELDS:
        odd = sorted(set(fields) ^ _FIELDS)[0]
        return (
            Reason.MALFORMED_MESSAGE,
            f"{str(odd)[:64]}: {'missing' if odd in _FIELDS else 'not allowed'}",
        )
    message_id, stamp = fields["message_id"], fields["message_timestamp"]
    if not isinstance(message_id, str) or _MESSAGE_ID.fullmatch(message_id) is None:
        return Reason.MALFORMED_MESSAGE, "message_id: not a message id"
    if not _is_int(stamp) or not 0 < stamp <= now_ms + CLOCK_SKEW_MS:
        return Reason.MALFORMED_MESSAGE, "message_timestamp: not integer milliseconds up to now"
    if fields["queue_name"] != queue_name:
        return (
            Reason.WRONG_QUEUE,
            f"queue_name: {str(fields['queue_name'])[:80]!r} found on {queue_name!r}",
        )
    name = fields["actor_name"]
    actor = actors.get(name) if isinstance(name, str) else None
    if actor is None:
        return Reason.UNKNOWN_ACTOR, f"actor_name: no actor {str(name)[:80]!r}"
    if actor.queue_name != q_name(queue_name):
        return Reason.WRONG_QUEUE, f"actor {actor.actor_name} does not consume {queue_name!r}"
    options = fields["options"]
    if not isinstance(options, dict):
        return Reason.MALFORMED_MESSAGE, "options: not an object"
    problem = _option_problem(options, rid, queue_name, actor, now_ms)
    if problem is not None:
        return Reason.MALFORMED_MESSAGE, problem
    args, kwargs = fields["args"], fields["kwargs"]
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        return Reason.MALFORMED_MESSAGE, "args: not a list" if not isinstance(
            args, list
        ) else "kwargs: not an object"
    if not _fits(actor.fn, args, kwargs):
        return Reason.BAD_ARGUMENTS, f"args: {actor.actor_name} cannot take these arguments"
    return None


def _option_problem(
    options: dict[str, Any], rid: str, queue_name: str, actor: Actor[Any, Any], now_ms: int
) -> str | None:
    for key, value in options.items():
        if key in _NEVER_FROM_A_MESSAGE:
            return f"options.{str(key)[:64]}: not honoured from a message"
        if key == "redis_message_id":
            if value != rid:
                return "options.redis_message_id: not the id it was fetched under"
        elif key == "retries":
            bound = actor.options.get("max_retries", 20)
            if not _is_int(value) or not 0 <= value <= bound:
                return f"options.retries: not an integer within 0 … {bound}"
        elif key == "traceback":
            if not isinstance(value, str) or len(value) > MAX_TRACEBACK_CHARS:
                return "options.traceback: not a string of bounded length"
        elif key == "requeue_timestamp":
            if not _is_int(value) or value <= 0:
                return "options.requeue_timestamp: not integer milliseconds"
        elif key == "eta":
            if not queue_name.endswith(".DQ"):
                return "options.eta: only a delayed message has one"
            if not _is_int(value) or not 0 < value <= now_ms + MAX_DELAY_MS:
                return "options.eta: not integer milliseconds within 7 days"
        else:
            return f"options.{str(key)[:64]}: not allowed"
    if "redis_message_id" not in options:
        return "options.redis_message_id: missing"
    return None


def _fits(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> bool:
    try:
        _signature(fn).bind(*args, **kwargs)
    except TypeError:
        return False
    return True


@functools.cache
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)

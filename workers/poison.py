"""Poison messages: bytes on a queue that no actor can safely run.

Dramatiq trusts what it finds in Redis. Bytes that do not decode raise inside
its consumer and sit in the ack set for ever; a decodable message naming an
unknown actor, another queue, or carrying arguments the actor cannot take is
either retried for nothing or crashes the worker thread before the ack. This
module says why a message is poison (``verdict``) and moves it aside: a
durable refusal record (``store/refusals.py``) and Dramatiq's dead letters.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
import structlog
from dramatiq import Actor
from dramatiq.common import q_name
from dramatiq.message import Message

from store.refusals import RedisRefusals, RefusedEvent

log = structlog.get_logger(__name__)

MAX_RAW_CHARS = 4_096

# Options our publisher and Dramatiq's own middleware put on a message, with
# their types. Anything else (callbacks, pipes, ``throws``) could make a
# message written by a broken or hostile client run another actor.
_OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "redis_message_id": str,
    "eta": int,
    "retries": int,
    "traceback": str,
    "requeue_timestamp": int,
    "max_retries": int,
    "min_backoff": int,
    "max_backoff": int,
    "max_age": int,
    "time_limit": int,
}


@dataclass(frozen=True)
class Poison:
    reason: str
    detail: str
    message: Message[Any] | None = None


def verdict(
    data: bytes | None, queue_name: str, actors: Mapping[str, Actor[Any, Any]]
) -> Message[Any] | Poison:
    """The decoded message when it is safe to run, else why it is poison."""
    if data is None:
        return Poison("missing_body", "the message id has no stored body")
    try:
        message: Message[Any] = Message.decode(data)
    except Exception as e:  # DecodeError, and whatever a hostile payload raises
        return Poison("undecodable", f"not a Dramatiq message: {_cause(e)}")
    problem = _problem(message, queue_name, actors)
    return message if problem is None else Poison(problem[0], problem[1], message)


def _problem(
    message: Message[Any], queue_name: str, actors: Mapping[str, Actor[Any, Any]]
) -> tuple[str, str] | None:
    if not isinstance(message.options, dict):
        return "malformed_message", "options: not an object"
    for key, value in message.options.items():
        expected = _OPTION_TYPES.get(key)
        if expected is None:
            return "malformed_message", f"options.{key}: not allowed"
        if not isinstance(value, expected) or isinstance(value, bool):
            return "malformed_message", f"options.{key}: wrong type"
    if not isinstance(message.options.get("redis_message_id"), str):
        return "malformed_message", "options.redis_message_id: missing"
    if message.queue_name != queue_name:
        return "wrong_queue", f"queue_name: {message.queue_name!r} found on {queue_name!r}"
    actor = actors.get(message.actor_name) if isinstance(message.actor_name, str) else None
    if actor is None:
        return "unknown_actor", f"actor_name: no actor {str(message.actor_name)[:80]!r}"
    if actor.queue_name != q_name(queue_name):
        return "wrong_queue", f"actor {actor.actor_name} does not consume {queue_name!r}"
    if not isinstance(message.kwargs, dict):
        return "malformed_message", "kwargs: not an object"
    arity = _positional_only_arity(actor.fn)
    if (
        arity is not None
        and not message.kwargs
        and isinstance(message.args, (list, tuple))
        and len(message.args) == arity
    ):
        return None  # the common case (every event actor takes one argument), without bind
    try:
        _signature(actor.fn).bind(*message.args, **message.kwargs)
    except TypeError as e:
        return "bad_arguments", f"args: {e}"
    return None


@functools.cache
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


@functools.cache
def _positional_only_arity(fn: Callable[..., Any]) -> int | None:
    """How many arguments ``fn`` takes when it takes a fixed number of plain
    ones (no defaults, no ``*``/``**``), so a match needs no ``bind``."""
    params = _signature(fn).parameters.values()
    plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if all(p.kind in plain and p.default is inspect.Parameter.empty for p in params):
        return len(params)
    return None


def _cause(e: BaseException) -> str:
    cause = e.__cause__ or e
    return f"{type(cause).__name__}: {str(cause)[:200]}"


class PoisonSink:
    """Moves poison aside: durable record first, then the dead letter."""

    def __init__(self, refusals: RedisRefusals | None, clock: Callable[[], datetime]) -> None:
        self.refusals = refusals
        self.clock = clock
        self.on_moved: list[Callable[[str, str], None]] = []

    def move_aside(
        self,
        client: redis.Redis,
        nack: Callable[[str], Any],
        acks_key: str,
        messages_key: str,
        data: bytes | None,
        poison: Poison,
        queue: str,
    ) -> None:
        rid = _find_redis_id(client, acks_key, messages_key, data, poison)
        if rid is None:
            log.error("poison_not_found", queue=queue, reason=poison.reason)
            return
        if self.refusals is not None:
            self.refusals.record(_record(rid, data, poison, queue, self.clock()))
        nack(rid)
        log.warning("poison_moved_aside", queue=queue, reason=poison.reason, detail=poison.detail)
        for hook in self.on_moved:
            hook(q_name(queue), poison.reason)


def _find_redis_id(
    client: redis.Redis, acks_key: str, messages_key: str, data: bytes | None, poison: Poison
) -> str | None:
    """The Redis id under which ``data`` was fetched into this worker's ack set.

    The message's own ``redis_message_id`` cannot be trusted (that is the
    point), so the ack set is searched for the id whose body is these bytes.
    """
    ids = list(client.smembers(acks_key))
    if not ids:
        return None
    bodies = client.hmget(messages_key, ids)
    for rid, body in zip(ids, bodies, strict=True):
        if body == data:
            return rid.decode() if isinstance(rid, bytes) else str(rid)
    return None


def _record(rid: str, data: bytes | None, poison: Poison, queue: str, at: datetime) -> RefusedEvent:
    wire = _wire_of(poison.message)
    raw = None if data is None else data.decode("utf-8", "backslashreplace")[:MAX_RAW_CHARS]
    payload = wire if wire is not None else {"raw": raw}
    return RefusedEvent(
        refusal_id=f"poison:{rid}",
        event_id=_str_field(payload, "event_id"),
        type=_str_field(payload, "type"),
        queue=q_name(queue),
        reason=poison.reason,
        detail=poison.detail,
        refused_at=at,
        payload=payload,
        dead_lettered=True,
        redis_message_id=rid,
    )


def _wire_of(message: Message[Any] | None) -> dict[str, Any] | None:
    if message is None or not message.args or not isinstance(message.args[0], dict):
        return None
    wire = message.args[0]
    return wire if len(json.dumps(wire, default=str)) <= MAX_RAW_CHARS else None


def _str_field(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return value[:200] if isinstance(value, str) else None

"""Writing straight to Redis, as a broken or hostile client would, and reading
where the broker keeps things."""

from __future__ import annotations

import json
import uuid
from typing import Any

from dramatiq import Message

from subcycle.bootstrap import App
from workers.transport.inspect import Inspector
from workers.transport.keys import QueueKeys


def put_raw(app: App, queue: str, data: bytes) -> str:
    """Bytes onto ``queue`` exactly where Dramatiq looks for messages."""
    rid = str(uuid.uuid4())
    keys = QueueKeys(app.broker.namespace)
    app.client.hset(keys.messages(queue), rid, data)
    app.client.rpush(keys.ready(queue), rid)
    return rid


def put_message(
    app: App,
    queue: str,
    actor: str,
    args: Any = (),
    kwargs: Any = None,
    options: dict[str, Any] | None = None,
) -> str:
    """A well-formed Dramatiq message, however hostile its contents."""
    rid = str(uuid.uuid4())
    fields = Message(
        queue_name=queue,
        actor_name=actor,
        args=(),
        kwargs={},
        options={"redis_message_id": rid, **(options or {})},
    ).asdict()
    fields["args"] = args
    fields["kwargs"] = {} if kwargs is None else kwargs
    data = json.dumps(fields, separators=(",", ":")).encode()
    keys = QueueKeys(app.broker.namespace)
    app.client.hset(keys.messages(queue), rid, data)
    app.client.rpush(keys.ready(queue), rid)
    return rid


def dead_letter_ids(app: App, queue: str) -> set[str]:
    inspector = Inspector(app.client, app.broker.namespace)
    return {dead.redis_message_id for dead in inspector.dead_messages(queue)}


def unacked(app: App) -> int:
    return Inspector(app.client, app.broker.namespace).unacked()


def state_of(app: App) -> dict[str, Any]:
    """Every key of the store's prefix with its value: for "nothing changed"."""
    out: dict[str, Any] = {}
    for key in sorted(app.client.scan_iter(match=f"{app.store.keys.prefix}*", count=1000)):
        name = key.decode() if isinstance(key, bytes) else key
        if name.startswith((app.store.keys.refused, f"{app.store.keys.prefix}event:")):
            continue  # refusal records are expected to change
        kind = app.client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "hash":
            out[name] = app.client.hgetall(key)
        elif kind == "zset":
            out[name] = app.client.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            out[name] = app.client.smembers(key)
        elif kind == "list":
            out[name] = app.client.lrange(key, 0, -1)
        else:
            out[name] = app.client.get(key)
    return out

"""What sits on each queue, read straight from where Dramatiq's Redis broker
keeps it (``dispatch.lua``): the list ``<ns>:<q>`` (ready), the hash
``<ns>:<q>.DQ.msgs`` (delayed: retries, reminders waiting for the morning),
the workers' ack sets ``<ns>:__acks__.<worker>.<q>`` (fetched, not yet acked)
and the sorted set ``<ns>:<q>.XQ`` (Dramatiq's dead letters)."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import redis

from events import Queue
from store.refusals import RedisRefusals


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    ready: int
    delayed: int
    in_progress: int
    dead_lettered: int
    refused: int
    oldest_ready_age_s: float | None
    workers: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def queue_depths(
    client: redis.Redis,
    namespace: str,
    refusals: RedisRefusals,
    *,
    heartbeat_timeout_ms: int,
    now_ms: int | None = None,
) -> list[QueueDepth]:
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    queues = [q.value for q in Queue]
    heartbeats = f"{namespace}:__heartbeats__"
    workers = [_s(w) for w in client.zrange(heartbeats, 0, -1)]  # type: ignore[arg-type]
    live = int(client.zcount(heartbeats, now_ms - heartbeat_timeout_ms, "+inf"))
    with client.pipeline(transaction=False) as pipe:
        for q in queues:
            pipe.llen(f"{namespace}:{q}")
            pipe.hlen(f"{namespace}:{q}.DQ.msgs")
            pipe.zcard(f"{namespace}:{q}.XQ")
            pipe.lindex(f"{namespace}:{q}", 0)
            for w in workers:
                pipe.scard(f"{namespace}:__acks__.{w}.{q}")
        answers = pipe.execute()
    refused = Counter(r.queue for r in refusals.list())
    depths: list[QueueDepth] = []
    step = 4 + len(workers)
    for i, q in enumerate(queues):
        ready, delayed, dead, head, *acks = answers[i * step : (i + 1) * step]
        depths.append(
            QueueDepth(
                queue=q,
                ready=int(ready),
                delayed=int(delayed),
                in_progress=sum(int(a) for a in acks),
                dead_lettered=int(dead),
                refused=refused[q],
                oldest_ready_age_s=_age(client, namespace, q, head, now_ms),
                workers=live,
            )
        )
    return depths


def _age(
    client: redis.Redis, namespace: str, queue: str, head: bytes | None, now_ms: int
) -> float | None:
    """Seconds since the message at the head of the ready list was enqueued."""
    if head is None:
        return None
    raw = client.hget(f"{namespace}:{queue}.msgs", head)
    try:
        stamp = json.loads(raw)["message_timestamp"] if raw is not None else None
    except (ValueError, KeyError, TypeError):
        return None  # poison at the head: the consumer will move it aside
    if not isinstance(stamp, int | float):
        return None
    return round(max(0.0, (now_ms - stamp) / 1000), 3)


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

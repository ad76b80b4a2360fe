"""What operators and ``subcycle drain`` read from where Dramatiq keeps it
(see ``keys.py``): queue depths, what is in flight, dead letters, and
whether everything is settled; and the few operator acts on dead letters
(requeue, drop)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import redis

from workers.transport.keys import QueueKeys, dq_name

_REQUEUE = (resources.files("workers.transport") / "scripts" / "requeue.lua").read_text()


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    ready: int
    delayed: int
    in_progress: int
    dead_lettered: int
    refused: int
    oldest_ready_age_s: float | None
    workers: int  # live workers consuming this queue

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeadMessage:
    """A message in Dramatiq's dead letters: its id, when, and its body."""

    redis_message_id: str
    queue: str
    dead_at_ms: float
    body: dict[str, Any] | None  # None when the stored bytes are not JSON


class Inspector:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._r = client
        self.keys = QueueKeys(namespace)
        self._requeue = client.register_script(_REQUEUE)

    def workers(self, heartbeat_timeout_ms: int, now_ms: int | None = None) -> list[str]:
        """Workers that beat within the timeout."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        found: Any = self._r.zrangebyscore(
            self.keys.heartbeats, now_ms - heartbeat_timeout_ms, "+inf"
        )
        return [_text(w) for w in found]

    def depths(
        self,
        queues: Iterable[str],
        refused: Mapping[str, int],
        *,
        heartbeat_timeout_ms: int,
        now_ms: int | None = None,
    ) -> list[QueueDepth]:
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        queues = list(queues)
        keys = self.keys
        heartbeats: Any = self._r.zrange(keys.heartbeats, 0, -1)
        every = [_text(w) for w in heartbeats]
        with self._r.pipeline(transaction=False) as pipe:
            for q in queues:
                pipe.llen(keys.ready(q))
                pipe.hlen(keys.messages(dq_name(q)))
                pipe.zcard(keys.dead(q))
                pipe.lindex(keys.ready(q), 0)
                pipe.zcount(keys.consumers(q), now_ms - heartbeat_timeout_ms, "+inf")
                for w in every:
                    pipe.scard(keys.acks(w, q))
            answers = pipe.execute()
        depths: list[QueueDepth] = []
        step = 5 + len(every)
        for i, q in enumerate(queues):
            ready, delayed, dead, head, live, *acks = answers[i * step : (i + 1) * step]
            depths.append(
                QueueDepth(
                    queue=q,
                    ready=int(ready),
                    delayed=int(delayed),
                    in_progress=sum(int(a) for a in acks),
                    dead_lettered=int(dead),
                    refused=refused.get(q, 0),
                    oldest_ready_age_s=self._age(q, head, now_ms),
                    workers=int(live),
                )
            )
        return depths

    def _age(self, queue: str, head: bytes | None, now_ms: int) -> float | None:
        """Seconds since the message at the head of the ready list was enqueued."""
        if head is None:
            return None
        raw = self._r.hget(self.keys.messages(queue), head)
        try:
            stamp = json.loads(raw)["message_timestamp"] if raw is not None else None
        except (ValueError, KeyError, TypeError):
            return None  # poison at the head: the consumer will move it aside
        if not isinstance(stamp, int | float):
            return None
        return round(max(0.0, (now_ms - stamp) / 1000), 3)

    def busy(self, worker_id: str, queues: Iterable[str], horizon_ms: float) -> tuple[bool, int]:
        """Whether anything is ready, fetched by ``worker_id`` or delayed and
        due within ``horizon_ms``; and how many delayed ones wait longer."""
        keys = self.keys
        queues = sorted(queues)
        with self._r.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(keys.ready(queue))
                pipe.llen(keys.ready(dq_name(queue)))
                pipe.scard(keys.acks(worker_id, queue))
                pipe.smembers(keys.acks(worker_id, dq_name(queue)))
            answers = pipe.execute()
        deadline_ms = time.time() * 1000 + horizon_ms
        later = 0
        for i, queue in enumerate(queues):
            ready, delayed_ready, fetched, held = answers[4 * i : 4 * i + 4]
            if ready or delayed_ready or fetched:
                return True, later
            if held:
                bodies: Any = self._r.hmget(keys.messages(dq_name(queue)), list(held))
                for body in bodies:
                    eta = _eta(body)
                    if eta is None:
                        continue
                    if eta <= deadline_ms:
                        return True, later
                    later += 1
        return False, later

    def unacked(self) -> int:
        """Messages fetched by any worker and not yet acked."""
        found = list(self._r.scan_iter(match=self.keys.acks_pattern(), count=1000))
        return sum(int(self._r.scard(k)) for k in found)

    def dead_messages(self, queue: str) -> list[DeadMessage]:
        """Dramatiq's dead letters of ``queue``, oldest first."""
        keys = self.keys
        scored: Any = self._r.zrange(keys.dead(queue), 0, -1, withscores=True)
        if not scored:
            return []
        bodies = self._r.hmget(keys.dead_messages(queue), [rid for rid, _ in scored])
        return [
            DeadMessage(_text(rid), queue, float(score), _json(body))
            for (rid, score), body in zip(scored, bodies, strict=True)
        ]

    def drop_dead(self, queue: str, redis_message_ids: list[str]) -> None:
        keys = self.keys
        for start in range(0, len(redis_message_ids), 1_000):
            chunk = redis_message_ids[start : start + 1_000]
            with self._r.pipeline() as pipe:
                pipe.zrem(keys.dead(queue), *chunk)
                pipe.hdel(keys.dead_messages(queue), *chunk)
                pipe.execute()

    def dead_before(self, queue: str, cutoff_ms: float) -> list[str]:
        found: Any = self._r.zrangebyscore(self.keys.dead(queue), "-inf", f"({cutoff_ms}")
        return [_text(rid) for rid in found]

    def requeue_dead(self, queue: str, redis_message_id: str) -> bool:
        """The dead message's own bytes back onto its queue, in one step."""
        keys = self.keys
        moved = self._requeue(
            keys=[
                keys.dead(queue),
                keys.dead_messages(queue),
                keys.ready(queue),
                keys.messages(queue),
            ],
            args=[redis_message_id],
        )
        return bool(moved)

    def messages_on(self, queue: str) -> list[tuple[str, bytes | None]]:
        """Every message ready on ``queue`` with its body (tests, inspection)."""
        keys = self.keys
        ids: Any = self._r.lrange(keys.ready(queue), 0, -1)
        bodies: Any = self._r.hmget(keys.messages(queue), ids) if ids else []
        return [(_text(rid), body) for rid, body in zip(ids, bodies, strict=True)]


def _eta(body: bytes | None) -> int | None:
    """A delayed message's eta, read as the consumer would judge it."""
    if body is None:
        return None
    try:
        options = json.loads(body).get("options", {})
    except (ValueError, AttributeError):
        return None
    eta = options.get("eta") if isinstance(options, dict) else None
    return eta if isinstance(eta, int) and not isinstance(eta, bool) else None


def _json(raw: Any) -> dict[str, Any] | None:
    try:
        found = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

"""The durable record of refused events (Dramatiq's dead letters expire in 7 days)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import redis

from store.keys import Keys


@dataclass(frozen=True)
class RefusedEvent:
    refusal_id: str
    event_id: str | None
    type: str | None
    queue: str
    reason: str
    detail: str
    refused_at: datetime
    payload: dict[str, Any] | None
    dead_lettered: bool = False
    redis_message_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["refused_at"] = self.refused_at.isoformat()
        return raw


class RedisRefusals:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    def record(self, refused: RefusedEvent) -> None:
        with self._r.pipeline() as pipe:
            pipe.hset(self._keys.refused, refused.refusal_id, json.dumps(refused.to_json()))
            pipe.zadd(
                self._keys.refused_by_time, {refused.refusal_id: refused.refused_at.timestamp()}
            )
            pipe.execute()

    def list(self, queue: str | None = None) -> list[RefusedEvent]:
        ids: list[Any] = list(self._r.zrange(self._keys.refused_by_time, 0, -1))
        if not ids:
            return []
        rows = self._r.hmget(self._keys.refused, ids)
        found = [_load(row) for row in rows if row is not None]
        return [r for r in found if queue is None or r.queue == queue]

    def get(self, refusal_id: str) -> RefusedEvent | None:
        row = self._r.hget(self._keys.refused, refusal_id)
        return None if row is None else _load(row)

    def remove(self, refusal_id: str) -> bool:
        with self._r.pipeline() as pipe:
            pipe.hdel(self._keys.refused, refusal_id)
            pipe.zrem(self._keys.refused_by_time, refusal_id)
            removed, _ = pipe.execute()
        return bool(removed)


def _load(row: bytes | str) -> RefusedEvent:
    raw = json.loads(row)
    raw["refused_at"] = datetime.fromisoformat(raw["refused_at"])
    return RefusedEvent(**raw)

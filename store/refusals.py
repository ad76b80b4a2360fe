"""The durable record of refused events (Dramatiq's dead letters expire in 7 days).

Kept for ``retention`` (``SUBCYCLE_REFUSED_RETENTION_DAYS``, 90 days by
default): every new record also drops a few of those older than that, so
the record never grows with the rate of refused requests beyond what that
time holds, and ``purge_older_than`` drops them all at once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
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


DEFAULT_RETENTION = timedelta(days=90)
TRIM_PER_RECORD = 100
PURGE_BATCH = 1_000


class RedisRefusals:
    def __init__(
        self, client: redis.Redis, keys: Keys, retention: timedelta = DEFAULT_RETENTION
    ) -> None:
        self._r = client
        self._keys = keys
        self.retention = retention
        self._record = client.register_script(_RECORD)

    def record(self, refused: RefusedEvent) -> None:
        at = refused.refused_at.timestamp()
        self._record(
            keys=[self._keys.refused, self._keys.refused_by_time],
            args=[
                refused.refusal_id,
                json.dumps(refused.to_json()),
                at,
                at - self.retention.total_seconds(),
                TRIM_PER_RECORD,
            ],
        )

    def purge_older_than(self, cutoff: datetime) -> int:
        """Drop every record refused before ``cutoff``; how many were dropped."""
        dropped = 0
        while True:
            n = int(
                self._record(
                    keys=[self._keys.refused, self._keys.refused_by_time],
                    args=["", "", 0, cutoff.timestamp(), PURGE_BATCH],
                )
            )
            dropped += n
            if n < PURGE_BATCH:
                return dropped

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


# KEYS: records hash, by-time zset. ARGV: id ("" for none), record, its time,
# cutoff, how many older than the cutoff to drop. Returns how many it dropped.
_RECORD = """
if ARGV[1] ~= "" then
    redis.call("hset", KEYS[1], ARGV[1], ARGV[2])
    redis.call("zadd", KEYS[2], ARGV[3], ARGV[1])
end
local old = redis.call("zrangebyscore", KEYS[2], "-inf", "(" .. ARGV[4], "LIMIT", 0, ARGV[5])
if #old > 0 then
    redis.call("hdel", KEYS[1], unpack(old))
    redis.call("zrem", KEYS[2], unpack(old))
end
return #old
"""


def _load(row: bytes | str) -> RefusedEvent:
    raw = json.loads(row)
    raw["refused_at"] = datetime.fromisoformat(raw["refused_at"])
    return RefusedEvent(**raw)

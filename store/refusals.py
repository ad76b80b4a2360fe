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

from events.reasons import Reason
from store.keys import Keys
from store.lua import script

MAX_PAYLOAD_CHARS = 16_384
MAX_DETAIL_CHARS = 500
MAX_NAME_CHARS = 200


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


def refused(
    *,
    refusal_id: str,
    queue: str,
    reason: Reason,
    detail: str,
    at: datetime,
    payload: object,
    dead_lettered: bool = True,
    redis_message_id: str | None = None,
) -> RefusedEvent:
    """The one way a refusal record is made, by every layer: what it keeps of
    the payload and how much of each text, whoever refused it."""
    kept: dict[str, Any] | None
    if payload is None:
        kept = None
    elif isinstance(payload, dict):
        kept = payload
    else:
        kept = {"raw": repr(payload)[:MAX_NAME_CHARS]}
    if kept is not None and len(json.dumps(kept, default=str)) > MAX_PAYLOAD_CHARS:
        kept = {"truncated": json.dumps(kept, default=str)[:MAX_PAYLOAD_CHARS]}
    return RefusedEvent(
        refusal_id=refusal_id[:MAX_NAME_CHARS],
        event_id=_name(kept, "event_id"),
        type=_name(kept, "type"),
        queue=queue,
        reason=reason.value,
        detail=detail[:MAX_DETAIL_CHARS],
        refused_at=at,
        payload=kept,
        dead_lettered=dead_lettered,
        redis_message_id=redis_message_id,
    )


def _name(payload: dict[str, Any] | None, field: str) -> str | None:
    value = payload.get(field) if payload is not None else None
    return value[:MAX_NAME_CHARS] if isinstance(value, str) else None


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
        self._record = client.register_script(script("refusal_record"))

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


def _load(row: bytes | str) -> RefusedEvent:
    raw = json.loads(row)
    raw["refused_at"] = datetime.fromisoformat(raw["refused_at"])
    return RefusedEvent(**raw)

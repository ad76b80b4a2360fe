"""Idempotency records: one per ``event_id``, with the digest of its payload.

The digest is written atomically with the enqueue (see workers/publisher),
and status ``done`` atomically with the event's effect; a record with no
status is queued. A refused event loses its record, so publishing it again
after a fix works.
"""

from __future__ import annotations

import redis

from store.keys import Keys


class RedisEventLog:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._forget = client.register_script(_FORGET)

    def status(self, event_id: str) -> tuple[str, str] | None:
        """``(digest, status)`` of an event, or None when never seen."""
        raw = self._r.hmget(self._keys.event(event_id), ["digest", "status"])
        if raw[0] is None:
            return None
        return _s(raw[0]), _s(raw[1] or b"queued")

    def mark_done(self, event_id: str, fingerprint: str) -> bool:
        """Record an effect that has no record of its own; False if already done."""
        key = self._keys.event(event_id)
        with self._r.pipeline() as pipe:
            pipe.hget(key, "status")
            pipe.hset(key, mapping={"digest": fingerprint, "status": "done"})
            previous, _ = pipe.execute()
        return previous is None or _s(previous) != "done"

    def forget(self, event_id: str, fingerprint: str) -> None:
        """A refused or purged event is not done: let it be published again.

        Only our own claim is dropped: a claim with another digest belongs to
        the event that used the id first.
        """
        self._forget(keys=[self._keys.event(event_id)], args=[fingerprint])


_FORGET = """
local digest = redis.call("hget", KEYS[1], "digest")
if digest == ARGV[1] and redis.call("hget", KEYS[1], "status") ~= "done" then
    redis.call("del", KEYS[1])
end
"""


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

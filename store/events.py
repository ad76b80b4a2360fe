"""Idempotency records: one per ``event_id``, with the fingerprint of its
content (``Event.fingerprint``).

The fingerprint is claimed atomically with the enqueue (the publisher,
workers/publisher.py), and status ``done`` written atomically with the
event's effect; a record with no status is queued. A refused event loses its
record, so publishing it again after a fix works.
"""

from __future__ import annotations

from typing import Any

import redis

from store.keys import Keys
from store.lua import script
from store.text import text

CLAIM_FIELD = "digest"


class RedisEventLog:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._forget = client.register_script(script("forget"))
        self._claims = client.register_script(script("claims"))

    def status(self, event_id: str) -> tuple[str, str] | None:
        """``(fingerprint, status)`` of an event, or None when never seen."""
        raw = self._r.hmget(self._keys.event(event_id), [CLAIM_FIELD, "status"])
        if raw[0] is None:
            return None
        return text(raw[0]), text(raw[1] or b"queued")

    def claims(self, event_ids: list[str]) -> list[str | None]:
        """The fingerprint each id was claimed with, or None where unclaimed."""
        found: Any = self._claims(keys=[self._keys.event(e) for e in event_ids], args=[CLAIM_FIELD])
        return [None if f is None else text(f) for f in found]

    def mark_done(self, event_id: str, fingerprint: str) -> bool:
        """Record an effect that has no record of its own; False if already done."""
        key = self._keys.event(event_id)
        with self._r.pipeline() as pipe:
            pipe.hget(key, "status")
            pipe.hset(key, mapping={CLAIM_FIELD: fingerprint, "status": "done"})
            previous, _ = pipe.execute()
        return previous is None or text(previous) != "done"

    def forget(self, event_id: str, fingerprint: str) -> None:
        """A refused or purged event is not done: let it be published again.

        Only our own claim is dropped: a claim with another fingerprint
        belongs to the event that used the id first.
        """
        self._forget(keys=[self._keys.event(event_id)], args=[CLAIM_FIELD, fingerprint])

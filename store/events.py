"""Idempotency records: one claim per ``event_id``, holding the fingerprint
of its content (``Event.fingerprint``).

The fingerprint is claimed atomically with the enqueue (the publisher,
workers/publisher.py), and marked done atomically with the event's effect; a
claim not marked is queued. A refused event loses its claim, so publishing
it again after a fix works.

Most claims are a field of a small bucketed hash (``Keys.claim``: field =
the event id, value = the fingerprint, ``DONE`` appended once done), a few
dozen bytes each (docs/capacity.md). A verification code's claim is its own
hash (``Keys.event``: ``digest``, ``status``), because it expires with its
attempt (store/otp.py); every read here looks in both.
"""

from __future__ import annotations

from typing import Any

import redis

from events import Event, Queue, queue_of
from store.keys import Keys
from store.lua import script
from store.text import text

CLAIM_FIELD = "digest"
DONE = "+"


def claim_of(keys: Keys, event: Event) -> tuple[str, str]:
    """The key and field an event's claim goes into when it is published."""
    if queue_of(event) is Queue.OTP:
        return keys.event(event.event_id), CLAIM_FIELD
    return keys.claim(event.event_id)


def claimed(value: bytes | str | None) -> str | None:
    """The fingerprint a claim's value holds, done or not."""
    if value is None:
        return None
    found = text(value)
    return found[: -len(DONE)] if found.endswith(DONE) else found


class RedisEventLog:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._forget = client.register_script(script("forget"))
        self._claims = client.register_script(script("claims"))

    def status(self, event_id: str) -> tuple[str, str] | None:
        """``(fingerprint, status)`` of an event, or None when never seen."""
        bucket, field = self._keys.claim(event_id)
        with self._r.pipeline(transaction=False) as pipe:
            pipe.hget(bucket, field)
            pipe.hmget(self._keys.event(event_id), [CLAIM_FIELD, "status"])
            compact, own = pipe.execute()
        if compact is not None:
            value = text(compact)
            return claimed(value) or "", "done" if value.endswith(DONE) else "queued"
        if own[0] is None:
            return None
        return text(own[0]), text(own[1] or b"queued")

    def claims(self, event_ids: list[str]) -> list[str | None]:
        """The fingerprint each id was claimed with, or None where unclaimed."""
        keys: list[str] = []
        args: list[str] = [CLAIM_FIELD]
        for event_id in event_ids:
            bucket, field = self._keys.claim(event_id)
            keys += [bucket, self._keys.event(event_id)]
            args.append(field)
        found: Any = self._claims(keys=keys, args=args)
        return [claimed(f) for f in found]

    def mark_done(self, event_id: str, fingerprint: str) -> bool:
        """Record an effect that has no record of its own; False if already done."""
        bucket, field = self._keys.claim(event_id)
        with self._r.pipeline() as pipe:
            pipe.hget(bucket, field)
            pipe.hset(bucket, field, fingerprint + DONE)
            previous, _ = pipe.execute()
        return previous is None or not text(previous).endswith(DONE)

    def forget(self, event_id: str, fingerprint: str) -> None:
        """A refused or purged event is not done: let it be published again.

        Only our own claim is dropped: a claim with another fingerprint
        belongs to the event that used the id first.
        """
        bucket, field = self._keys.claim(event_id)
        self._forget(
            keys=[bucket, self._keys.event(event_id)], args=[field, CLAIM_FIELD, fingerprint]
        )

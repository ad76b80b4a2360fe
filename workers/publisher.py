"""The publisher: validated events onto their queues, each event id once.

Events are claimed and enqueued by one Lua script call per batch
(``scripts/publish.lua``) that writes each message exactly where Dramatiq's
RedisBroker keeps it (the list ``<ns>:<queue>`` and the hash
``<ns>:<queue>.msgs``, as in Dramatiq's ``dispatch.lua``). That is what lets
``subcycle publish`` pass Dramatiq's one-script-call-per-send ceiling.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import redis

from events import Event, queue_of
from store.codec import digest
from store.keys import Keys

BATCH = 1000
_SCRIPT = resources.files("workers").joinpath("scripts/publish.lua").read_text()


@dataclass
class PublishResult:
    enqueued: int = 0
    duplicates: int = 0
    reused: list[str] = field(default_factory=list)

    def merge(self, other: PublishResult) -> None:
        self.enqueued += other.enqueued
        self.duplicates += other.duplicates
        self.reused.extend(other.reused)


class Publisher:
    def __init__(self, client: redis.Redis, keys: Keys, namespace: str) -> None:
        self._r = client
        self._keys = keys
        self._ns = namespace
        self._script = client.register_script(_SCRIPT)

    def publish(self, events: Iterable[Event], *, delay_ms: int | None = None) -> PublishResult:
        result = PublishResult()
        batch: list[Event] = []
        for event in events:
            batch.append(event)
            if len(batch) >= BATCH:
                result.merge(self._send(batch, delay_ms))
                batch = []
        if batch:
            result.merge(self._send(batch, delay_ms))
        return result

    def reused_ids(self, events: Sequence[Event]) -> set[str]:
        """Event ids already claimed with another payload (checked before a publish)."""
        found: set[str] = set()
        for start in range(0, len(events), BATCH):
            chunk = events[start : start + BATCH]
            with self._r.pipeline(transaction=False) as pipe:
                for event in chunk:
                    pipe.hget(self._keys.event(event.event_id), "digest")
                claimed = pipe.execute()
            for event, seen in zip(chunk, claimed, strict=True):
                if seen is not None and _s(seen) != digest(event.wire()):
                    found.add(event.event_id)
        return found

    def _send(self, batch: list[Event], delay_ms: int | None) -> PublishResult:
        now_ms = int(time.time() * 1000)
        keys: list[str] = []
        args: list[str | bytes] = []
        for event in batch:
            wire = event.wire()
            queue = queue_of(event).value
            # A fresh message's Redis id may be its message id: Dramatiq gives
            # every later enqueue (a retry) a new Redis id of its own.
            rid = str(uuid.uuid4())
            options: dict[str, object] = {"redis_message_id": rid}
            if delay_ms:
                queue = f"{queue}.DQ"
                options["eta"] = now_ms + delay_ms
            # Message.encode() of the same fields, without building the
            # dataclass: this loop is what bounds ``subcycle publish``.
            body = json.dumps(
                {
                    "queue_name": queue,
                    "actor_name": type(event).__name__,
                    "args": [wire],
                    "kwargs": {},
                    "options": options,
                    "message_id": rid,
                    "message_timestamp": now_ms,
                },
                separators=(",", ":"),
            )
            list_key = f"{self._ns}:{queue}"
            keys += [self._keys.event(event.event_id), list_key, f"{list_key}.msgs"]
            args += [digest(wire), rid, body]
        # One script call per batch: the server's per-call cost, not the
        # network, was what bounded publishing (bench/throughput.py).
        answers = self._script(keys=keys, args=args)
        result = PublishResult()
        for event, answer in zip(batch, answers, strict=True):
            if answer == 1:
                result.enqueued += 1
            elif answer == 0:
                result.duplicates += 1
            else:
                result.reused.append(event.event_id)
        return result


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

"""The publisher: validated events onto their queues, each event id once.

Events are claimed and enqueued by one Lua script call per batch
(``scripts/publish.lua``) that writes each message exactly where Dramatiq's
RedisBroker keeps it (the list ``<ns>:<queue>`` and the hash
``<ns>:<queue>.msgs``, as in Dramatiq's ``dispatch.lua``). That is what lets
``subcycle publish`` pass Dramatiq's one-script-call-per-send ceiling.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources

import redis

from events import Event, queue_of, refuse_reserved
from store.codec import digest
from store.keys import Keys

BATCH = 1000
_SCRIPT = resources.files("workers").joinpath("scripts/publish.lua").read_text()
# The claimed digest of each event record in KEYS (false where unclaimed): one
# call per batch rather than one HGET per event.
_CLAIMS = """
local found = {}
for i, key in ipairs(KEYS) do
    found[i] = redis.call("hget", key, "digest")
end
return found
"""


@dataclass
class PublishResult:
    enqueued: int = 0
    duplicates: int = 0
    reused: list[str] = field(default_factory=list)

    def merge(self, other: PublishResult) -> None:
        self.enqueued += other.enqueued
        self.duplicates += other.duplicates
        self.reused.extend(other.reused)


@dataclass(frozen=True)
class _Encoded:
    """One batch as the publish script takes it."""

    events: list[Event]
    keys: list[str]
    args: list[str | bytes]


class Publisher:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        namespace: str,
        claim_ttl_ms: Mapping[str, int] | None = None,
    ) -> None:
        self._r = client
        self._keys = keys
        self._ns = namespace
        # Per queue, how long an event's claim lives (none: as long as its record).
        self._claim_ttl = {q: str(ms) for q, ms in (claim_ttl_ms or {}).items()}
        self._script = client.register_script(_SCRIPT)
        self._claims = client.register_script(_CLAIMS)

    def publish(self, events: Iterable[Event]) -> PublishResult:
        """Enqueue upstream events: all of them, or none if any uses an id that
        subcycle derives (``InvalidEvent``, ``reserved_event_id``)."""
        chosen = list(events)
        refuse_reserved(chosen)
        return self.publish_derived(chosen)

    def publish_derived(
        self, events: Iterable[Event], *, delay_ms: int | None = None
    ) -> PublishResult:
        """Enqueue events subcycle made itself (ticks, their fan-out, an
        operator's retry), whose ids may be derived ones.

        In batches, in order; at most one batch in flight.

        While Redis runs one batch's script (on its own core), this thread
        encodes the next: a large publish costs about the greater of the two
        rather than their sum. A publish of one batch needs no second thread.
        """
        result = PublishResult()
        batches = (self._encode(batch, delay_ms) for batch in _batched(events))
        first = next(batches, None)
        if first is None:
            return result
        second = next(batches, None)
        if second is None:
            return self._enqueue(first)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish") as lane:
            in_flight = lane.submit(self._enqueue, first)
            for encoded in itertools.chain([second], batches):
                result.merge(in_flight.result())
                in_flight = lane.submit(self._enqueue, encoded)
            result.merge(in_flight.result())
        return result

    def reused_ids(self, events: Sequence[Event]) -> set[str]:
        """Event ids already claimed with another payload (checked before a publish)."""
        found: set[str] = set()
        for start in range(0, len(events), BATCH):
            chunk = events[start : start + BATCH]
            claimed = self._claims(keys=[self._keys.event(e.event_id) for e in chunk])
            for event, seen in zip(chunk, claimed, strict=True):
                if seen is not None and _s(seen) != digest(event.wire()):
                    found.add(event.event_id)
        return found

    def _encode(self, batch: list[Event], delay_ms: int | None) -> _Encoded:
        now_ms = int(time.time() * 1000)
        queues: dict[str, int] = {}  # list key -> its j in the script
        records: list[str] = []
        args: list[str | bytes] = []
        for event, rid in zip(batch, _message_ids(len(batch)), strict=True):
            # The canonical text store.codec.digest hashes; it is also the
            # message's argument, so each event is serialised once.
            wire_json = _canonical(event.wire())
            queue = queue_of(event).value
            claim_ttl = self._claim_ttl.get(queue, "0")
            eta = ""
            if delay_ms:
                queue = f"{queue}.DQ"
                eta = f',"eta":{now_ms + delay_ms}'
            # What Message.encode() writes for these fields, without building
            # the dataclass: this loop is what bounds ``subcycle publish``.
            # Queue and actor names are identifiers and rid a UUID: no escaping.
            body = (
                f'{{"queue_name":"{queue}","actor_name":"{type(event).__name__}",'
                f'"args":[{wire_json}],"kwargs":{{}},'
                f'"options":{{"redis_message_id":"{rid}"{eta}}},'
                f'"message_id":"{rid}","message_timestamp":{now_ms}}}'
            )
            j = queues.setdefault(f"{self._ns}:{queue}", len(queues) + 1)
            records.append(self._keys.event(event.event_id))
            args += [str(j), _fingerprint(wire_json), rid, body, claim_ttl]
        keys = [key for list_key in queues for key in (list_key, f"{list_key}.msgs")]
        return _Encoded(batch, keys + records, [str(len(queues)), *args])

    def _enqueue(self, encoded: _Encoded) -> PublishResult:
        # One script call per batch: the server's per-call cost, not the
        # network, was what bounded publishing (bench/throughput.py).
        answers = self._script(keys=encoded.keys, args=encoded.args)
        result = PublishResult()
        for event, answer in zip(encoded.events, answers, strict=True):
            if answer == 1:
                result.enqueued += 1
            elif answer == 0:
                result.duplicates += 1
            else:
                result.reused.append(event.event_id)
        return result


def _batched(events: Iterable[Event]) -> Iterator[list[Event]]:
    batch: list[Event] = []
    for event in events:
        batch.append(event)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _message_ids(n: int) -> list[str]:
    """``n`` fresh version-4 UUIDs, as ``str(uuid.uuid4())`` writes them.

    A fresh message's Redis id may be its message id: Dramatiq gives every
    later enqueue (a retry) a new Redis id of its own.
    """
    raw = os.urandom(16 * n).hex()
    ids = []
    for at in range(0, 32 * n, 32):
        h = raw[at : at + 32]
        variant = _VARIANT[h[16]]
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")
    return ids


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _canonical(wire: dict[str, object]) -> str:
    """The exact text ``store.codec.digest`` hashes (checked in tests)."""
    return json.dumps(wire, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _fingerprint(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

"""The publisher: validated events onto their queues, each event id once.

An event's id is claimed (its record in the store, ``store/events.py``) and
its message enqueued together, a batch per script call
(``workers/transport/enqueue.py``). ``publish`` is the upstream door: it
refuses the ids subcycle derives. ``publish_derived`` is for what subcycle
makes itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis

from events import Event, queue_of, refuse_reserved
from events.base import fingerprint_of
from store.events import DONE, RedisEventLog, claim_of
from store.keys import Keys
from workers.transport import encoding
from workers.transport.enqueue import Confirm, Enqueued, Enqueuer, NotDurable, Outgoing, Prepared

__all__ = ["BATCH", "NotDurable", "PublishResult", "Publisher"]

BATCH = 1000


@dataclass
class PublishResult:
    enqueued: int = 0
    duplicates: int = 0
    reused: list[str] = field(default_factory=list)
    # Per event, in the order given: True when it was enqueued by this publish.
    fresh: list[bool] = field(default_factory=list)

    def merge(self, other: PublishResult) -> None:
        self.enqueued += other.enqueued
        self.duplicates += other.duplicates
        self.reused.extend(other.reused)
        self.fresh.extend(other.fresh)


class Publisher:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        namespace: str,
        claim_ttl_ms: Mapping[str, int] | None = None,
        *,
        encode: encoding.Encoder = encoding.encode,
        confirm: Callable[[], Confirm | None] | None = None,
    ) -> None:
        self._keys = keys
        # What an upstream's publish waits for before it is acknowledged
        # (SUBCYCLE_DURABILITY, subcycle/durability.py); asked on first use.
        self._confirm = confirm
        self._events = RedisEventLog(client, keys)
        self._enqueuer = Enqueuer(client, namespace, DONE, encode=encode)
        # Per queue, how long an event's claim lives (none: as long as its record).
        self._claim_ttl = dict(claim_ttl_ms or {})

    def publish(self, events: Iterable[Event]) -> PublishResult:
        """Enqueue upstream events: all of them, or none if any uses an id that
        subcycle derives (``InvalidEvent``, ``reserved_event_id``)."""
        chosen = list(events)
        refuse_reserved(chosen)
        confirm = self._confirm() if self._confirm is not None else None
        return self.publish_derived(chosen, confirm=confirm)

    def publish_derived(
        self,
        events: Iterable[Event],
        *,
        delay_ms: int | None = None,
        confirm: Confirm | None = None,
    ) -> PublishResult:
        """Enqueue events subcycle made itself (ticks, their fan-out, an
        operator's retry of a refused event), whose ids may be derived ones.

        In batches, in order; at most one batch in flight. While Redis runs
        one batch's script (on its own core), this thread encodes the next:
        a large publish costs about the greater of the two rather than their
        sum. A publish of one batch needs no second thread.
        """
        result = PublishResult()
        batches = ((b, self._prepare(b, delay_ms), confirm) for b in _batched(events))
        first = next(batches, None)
        if first is None:
            return result
        second = next(batches, None)
        if second is None:
            return self._send(*first)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish") as lane:
            in_flight = lane.submit(self._send, *first)
            for batch, prepared, _ in itertools.chain([second], batches):
                result.merge(in_flight.result())
                in_flight = lane.submit(self._send, batch, prepared, confirm)
            result.merge(in_flight.result())
        return result

    def reused_ids(self, events: Sequence[Event]) -> set[str]:
        """Event ids already claimed with another payload (checked before a publish)."""
        found: set[str] = set()
        for start in range(0, len(events), BATCH):
            chunk = events[start : start + BATCH]
            claimed = self._events.claims([e.event_id for e in chunk])
            for event, seen in zip(chunk, claimed, strict=True):
                if seen is not None and seen != event.fingerprint():
                    found.add(event.event_id)
        return found

    def _prepare(self, batch: list[Event], delay_ms: int | None) -> Prepared:
        outgoing = []
        for event in batch:
            # Serialised once: the message's argument is the text the
            # fingerprint hashes.
            canonical = event.canonical()
            queue = queue_of(event).value
            claim_key, claim_field = claim_of(self._keys, event)
            outgoing.append(
                Outgoing(
                    queue=queue,
                    actor=type(event).__name__,
                    argument_json=canonical,
                    claim_key=claim_key,
                    claim_field=claim_field,
                    fingerprint=fingerprint_of(canonical),
                    claim_ttl_ms=self._claim_ttl.get(queue, 0),
                )
            )
        return self._enqueuer.prepare(outgoing, delay_ms)

    def _send(
        self, batch: list[Event], prepared: Prepared, confirm: Confirm | None = None
    ) -> PublishResult:
        result = PublishResult()
        for event, answer in zip(batch, self._enqueuer.send(prepared, confirm), strict=True):
            result.fresh.append(answer is Enqueued.ENQUEUED)
            if answer is Enqueued.ENQUEUED:
                result.enqueued += 1
            elif answer is Enqueued.DUPLICATE:
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

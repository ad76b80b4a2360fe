"""Dead letters as operators see them: Dramatiq's ``<q>.XQ`` joined with the
durable record of refused events (``store/refusals.py``).

The durable record is the truth about *why*: every refusal by an actor and
every poison message writes one before its message is dead-lettered, and it
is kept for the retention (store/refusals.py). Dramatiq's XQ holds the
message bytes for 7 days. A dead
letter is listed once, under the record's id when there is one; an XQ entry
without a record (retries exhausted on an unexpected error) is listed as
``xq:<redis message id>`` with reason ``retries_exhausted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from events import JST, Event, InvalidEvent, Queue, ids, parse_event
from store.redis import RedisStore
from workers.publisher import Publisher
from workers.transport.inspect import DeadMessage, Inspector

Outcome = Literal["requeued", "republished", "already_done", "refused"]


@dataclass(frozen=True)
class DeadLetter:
    id: str
    queue: str
    event_id: str | None
    type: str | None
    reason: str
    detail: str
    at: datetime
    redis_message_id: str | None
    in_dead_letter_queue: bool
    recorded: bool
    payload: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "queue": self.queue,
            "event_id": self.event_id,
            "type": self.type,
            "reason": self.reason,
            "detail": self.detail,
            "at": self.at.astimezone(JST).isoformat(),
            "redis_message_id": self.redis_message_id,
            "in_dead_letter_queue": self.in_dead_letter_queue,
            "recorded": self.recorded,
            "payload": self.payload,
        }


class DeadLetters:
    def __init__(self, store: RedisStore, publisher: Publisher, namespace: str) -> None:
        self._store = store
        self._publisher = publisher
        self._queues = Inspector(store.client, namespace)

    def all(self, queue: str | None = None) -> list[DeadLetter]:
        queues = [queue] if queue else [q.value for q in Queue]
        found: list[DeadLetter] = []
        for q in queues:
            in_xq = {m.redis_message_id: m for m in self._queues.dead_messages(q)}
            for record in self._store.refusals.list(q):
                rid = record.redis_message_id
                found.append(
                    DeadLetter(
                        id=record.refusal_id,
                        queue=q,
                        event_id=record.event_id,
                        type=record.type,
                        reason=record.reason,
                        detail=record.detail,
                        at=record.refused_at,
                        redis_message_id=rid,
                        in_dead_letter_queue=rid is not None and in_xq.pop(rid, None) is not None,
                        recorded=True,
                        payload=record.payload,
                    )
                )
            found.extend(_unrecorded(m) for m in in_xq.values())
        return sorted(found, key=lambda d: d.at)

    def get(self, dead_letter_id: str) -> DeadLetter | None:
        return next((d for d in self.all() if d.id == dead_letter_id), None)

    def retry(self, letter: DeadLetter) -> Outcome:
        """Put the event back; a still-bad event is refused again, never lost.

        An event whose id is done (a business refusal kept in the
        subscription's history, or one republished upstream since) is not
        sent again and its record is kept: ``already_done``.
        """
        event = _event_of(letter.payload)
        if event is not None:
            self._store.events.forget(event.event_id, event.fingerprint())
            if self._store.events.status(event.event_id) is not None:
                return "already_done"
            record = self._store.refusals.get(letter.id) if letter.recorded else None
            # Dropped before the publish: the republished event may be refused
            # again under the same id before this call returns.
            self._drop(letter)
            # An operator puts back what subcycle itself refused: derived ids included.
            result = self._publisher.publish_derived([event])
            if result.enqueued:
                return "republished"
            if record is not None:
                self._store.refusals.record(record)
            return "refused" if result.reused else "already_done"
        if letter.in_dead_letter_queue and letter.redis_message_id is not None:
            if letter.recorded:
                self._store.refusals.remove(letter.id)
            self._queues.requeue_dead(letter.queue, letter.redis_message_id)
            return "requeued"
        return "refused"

    def purge(self, letter: DeadLetter) -> None:
        self._drop(letter)

    def purge_older_than(self, cutoff: datetime) -> int:
        """Forget every refused record and dead letter from before ``cutoff``."""
        dropped = self._store.refusals.purge_older_than(cutoff)
        for queue in Queue:
            old = self._queues.dead_before(queue.value, cutoff.timestamp() * 1000)
            self._queues.drop_dead(queue.value, old)
            dropped += len(old)
        return dropped

    def _drop(self, letter: DeadLetter) -> None:
        if letter.recorded:
            self._store.refusals.remove(letter.id)
        if letter.redis_message_id is not None:
            self._queues.drop_dead(letter.queue, [letter.redis_message_id])


def _unrecorded(dead: DeadMessage) -> DeadLetter:
    """A dead letter with no refusal record: its retries ran out on an
    unexpected error (its last traceback line says which)."""
    message = dead.body or {}
    args = message.get("args")
    wire = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else None
    options = message.get("options")
    trace = options.get("traceback") if isinstance(options, dict) else None
    detail = trace.strip().splitlines()[-1] if isinstance(trace, str) and trace.strip() else ""
    return DeadLetter(
        id=f"{ids.DEAD_LETTER}{dead.redis_message_id}",
        queue=dead.queue,
        event_id=_str(wire, "event_id"),
        type=_str(wire, "type"),
        reason="retries_exhausted",
        detail=detail,
        at=datetime.fromtimestamp(dead.dead_at_ms / 1000, JST),
        redis_message_id=dead.redis_message_id,
        in_dead_letter_queue=True,
        recorded=False,
        payload=wire,
    )


def _event_of(payload: dict[str, Any] | None) -> Event | None:
    if payload is None:
        return None
    try:
        return parse_event(payload)
    except InvalidEvent:
        return None


def _str(wire: dict[str, Any] | None, name: str) -> str | None:
    value = wire.get(name) if wire else None
    return value if isinstance(value, str) else None

"""Dead letters as operators see them: Dramatiq's ``<q>.XQ`` joined with the
durable record of refused events (``store/refusals.py``).

The durable record is the truth about *why*: every refusal by an actor and
every poison message writes one before its message is dead-lettered, and it
never expires. Dramatiq's XQ holds the message bytes for 7 days. A dead
letter is listed once, under the record's id when there is one; an XQ entry
without a record (retries exhausted on an unexpected error) is listed as
``xq:<redis message id>`` with reason ``retries_exhausted``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from events import JST, InvalidEvent, Queue, parse_event
from store.codec import digest
from store.redis import RedisStore
from workers.publisher import Publisher

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
        self._r = store.client
        self._publisher = publisher
        self._ns = namespace

    def all(self, queue: str | None = None) -> list[DeadLetter]:
        queues = [queue] if queue else [q.value for q in Queue]
        found: list[DeadLetter] = []
        for q in queues:
            in_xq = {_s(rid): score for rid, score in self._xq(q)}
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
            found.extend(self._unrecorded(q, rid, score) for rid, score in in_xq.items())
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
            fingerprint = digest(event.wire())
            self._store.events.forget(event.event_id, fingerprint)
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
            self._requeue(letter.queue, letter.redis_message_id)
            return "requeued"
        return "refused"

    def purge(self, letter: DeadLetter) -> None:
        self._drop(letter)

    def purge_older_than(self, cutoff: datetime) -> int:
        """Forget every refused record and dead letter from before ``cutoff``."""
        dropped = self._store.refusals.purge_older_than(cutoff)
        for queue in Queue:
            xq = f"{self._ns}:{queue.value}.XQ"
            old: Any = self._r.zrangebyscore(xq, "-inf", f"({cutoff.timestamp() * 1000}")
            for start in range(0, len(old), 1_000):
                chunk = old[start : start + 1_000]
                with self._r.pipeline() as pipe:
                    pipe.zrem(xq, *chunk)
                    pipe.hdel(f"{xq}.msgs", *chunk)
                    pipe.execute()
            dropped += len(old)
        return dropped

    def _drop(self, letter: DeadLetter) -> None:
        if letter.recorded:
            self._store.refusals.remove(letter.id)
        if letter.redis_message_id is not None:
            xq = f"{self._ns}:{letter.queue}.XQ"
            with self._r.pipeline() as pipe:
                pipe.zrem(xq, letter.redis_message_id)
                pipe.hdel(f"{xq}.msgs", letter.redis_message_id)
                pipe.execute()

    def _requeue(self, queue: str, rid: str) -> None:
        """The dead message's own bytes back onto its queue, in one step."""
        xq = f"{self._ns}:{queue}.XQ"
        self._r.eval(
            _REQUEUE, 4, xq, f"{xq}.msgs", f"{self._ns}:{queue}", f"{self._ns}:{queue}.msgs", rid
        )

    def _xq(self, queue: str) -> list[tuple[Any, float]]:
        found: Any = self._r.zrange(f"{self._ns}:{queue}.XQ", 0, -1, withscores=True)
        return list(found)

    def _unrecorded(self, queue: str, rid: str, score: float) -> DeadLetter:
        raw = self._r.hget(f"{self._ns}:{queue}.XQ.msgs", rid)
        message = _json(raw)
        args = message.get("args") if isinstance(message, dict) else None
        wire = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else None
        options = message.get("options") if isinstance(message, dict) else None
        trace = options.get("traceback") if isinstance(options, dict) else None
        detail = trace.strip().splitlines()[-1] if isinstance(trace, str) and trace.strip() else ""
        return DeadLetter(
            id=f"xq:{rid}",
            queue=queue,
            event_id=_str(wire, "event_id"),
            type=_str(wire, "type"),
            reason="retries_exhausted",
            detail=detail,
            at=datetime.fromtimestamp(score / 1000, JST),
            redis_message_id=rid,
            in_dead_letter_queue=True,
            recorded=False,
            payload=wire,
        )


_REQUEUE = """
local body = redis.call("hget", KEYS[2], ARGV[1])
if not body then return 0 end
redis.call("zrem", KEYS[1], ARGV[1])
redis.call("hdel", KEYS[2], ARGV[1])
redis.call("hset", KEYS[4], ARGV[1], body)
redis.call("rpush", KEYS[3], ARGV[1])
return 1
"""


def _event_of(payload: dict[str, Any] | None) -> Any:
    if payload is None:
        return None
    try:
        return parse_event(payload)
    except InvalidEvent:
        return None


def _json(raw: Any) -> Any:
    try:
        return json.loads(raw) if raw is not None else None
    except ValueError:
        return None


def _str(wire: dict[str, Any] | None, name: str) -> str | None:
    value = wire.get(name) if wire else None
    return value if isinstance(value, str) else None


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

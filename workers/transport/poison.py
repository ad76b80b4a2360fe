"""Moving poison aside: a message that no actor can safely run (see
``workers/envelope.py`` for what makes one) gets a durable refusal record
(``store/refusals.py``) and goes to Dramatiq's dead letters, by the id it
was fetched under. It never stalls the consumer, and its contents are kept
only as far as they are a readable event."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from dramatiq.common import q_name

from events import ids
from store.base import Refusals
from store.refusals import RefusedEvent, refused
from workers.transport.envelope import Poison

log = structlog.get_logger(__name__)

MAX_RAW_CHARS = 4_096


class PoisonSink:
    """Moves poison aside: durable record first, then the dead letter."""

    def __init__(self, refusals: Refusals | None, clock: Callable[[], datetime]) -> None:
        self.refusals = refusals
        self.clock = clock
        self.on_moved: list[Callable[[str, str], None]] = []

    def move_aside(
        self,
        nack: Callable[[str], Any],
        rid: str,
        data: bytes | None,
        poison: Poison,
        queue: str,
    ) -> None:
        if self.refusals is not None:
            self.refusals.record(_record(rid, data, poison, queue, self.clock()))
        nack(rid)
        log.warning("poison_moved_aside", queue=queue, reason=poison.reason, detail=poison.detail)
        for hook in self.on_moved:
            hook(q_name(queue), poison.reason)


def _record(rid: str, data: bytes | None, poison: Poison, queue: str, at: datetime) -> RefusedEvent:
    wire = _wire_of(poison.fields)
    raw = None if data is None else data.decode("utf-8", "backslashreplace")[:MAX_RAW_CHARS]
    return refused(
        refusal_id=f"{ids.POISON}{rid}",
        queue=q_name(queue),
        reason=poison.reason,
        detail=poison.detail,
        at=at,
        payload=wire if wire is not None else {"raw": raw},
        redis_message_id=rid,
    )


def _wire_of(fields: dict[str, Any] | None) -> dict[str, Any] | None:
    args = fields.get("args") if fields is not None else None
    if not isinstance(args, list) or not args or not isinstance(args[0], dict):
        return None
    wire = args[0]
    return wire if len(json.dumps(wire, default=str)) <= MAX_RAW_CHARS else None

"""The envelope every event shares: its idempotency key and its time, and
the one canonical text of its content that its fingerprint is taken of."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict

from events.types import Identifier, Timestamp


def fingerprint_of(canonical: str) -> str:
    """The fingerprint of an event's canonical text (``Event.canonical``)."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class Event(BaseModel):
    """What happened, when. Immutable; unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    event_id: Identifier
    occurred_at: Timestamp

    def wire(self) -> dict[str, object]:
        """The JSON-safe form that travels on the queues."""
        return self.model_dump(mode="json")

    def canonical(self) -> str:
        """The content as one canonical JSON text: the message's argument on
        the queue, and what the fingerprint hashes."""
        return json.dumps(self.wire(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def fingerprint(self) -> str:
        """Tells a replay (same event id, same content) from a reuse (other content)."""
        return fingerprint_of(self.canonical())

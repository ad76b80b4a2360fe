"""The envelope every event shares: its idempotency key and its time."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from events.types import Identifier, Timestamp


class Event(BaseModel):
    """What happened, when. Immutable; unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    event_id: Identifier
    occurred_at: Timestamp

    def wire(self) -> dict[str, object]:
        """The JSON-safe form that travels on the queues."""
        return self.model_dump(mode="json")

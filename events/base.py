"""The envelope every event shares: its idempotency key, its time, and the
version of its shape."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema

from events.types import EventId, Timestamp

SCHEMA_VERSION = 1
"""The shape every event type has today, and the one an event has when it
does not say (docs/schema.md: a breaking change is a new version beside it)."""
KNOWN_VERSIONS = (SCHEMA_VERSION,)


def _known_version(value: int) -> int:
    if value not in KNOWN_VERSIONS:
        known = ", ".join(str(v) for v in KNOWN_VERSIONS)
        raise ValueError(f"unknown version {value}; this subcycle reads {known}")
    return value


SchemaVersion = Annotated[
    int,
    AfterValidator(_known_version),
    WithJsonSchema(
        {
            "type": "integer",
            "enum": list(KNOWN_VERSIONS),
            "description": f"the version of this event's shape; omitted, it is {SCHEMA_VERSION}",
        }
    ),
]


class Event(BaseModel):
    """What happened, when. Immutable; unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    event_id: EventId
    occurred_at: Timestamp
    schema_version: SchemaVersion = SCHEMA_VERSION

    def wire(self) -> dict[str, object]:
        """The JSON-safe form that travels on the queues, and is fingerprinted
        for idempotency: the version is left out when it is the default, so
        an event reads (and fingerprints) as it did before versions existed,
        whether or not its publisher wrote ``"schema_version": 1``."""
        data = self.model_dump(mode="json")
        if data["schema_version"] == SCHEMA_VERSION:
            del data["schema_version"]
        return data

"""The envelope every event shares: its idempotency key, its time, the
version of its shape, and the one canonical text of its content that its
fingerprint is taken of."""

from __future__ import annotations

import hashlib
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema

from events.canonical import canonical_bytes
from events.types import EventId, Timestamp

SCHEMA_VERSION = 1
"""The newest version of any event's shape: it names the released schema
(``schema/events.v1.json``) and its ``$id``."""
KNOWN_VERSIONS = tuple(range(1, SCHEMA_VERSION + 1))
FIRST_VERSION = 1
"""Every type's first shape, and the version of an event that does not say.
A breaking change to a type is a second class beside its first, with
``schema_version: Literal[2]`` (docs/schema.md); an event that says nothing
keeps the shape its publisher always sent."""


def _first_version(value: int) -> int:
    if value != FIRST_VERSION:
        raise ValueError(f"unknown version {value}; this event type reads {FIRST_VERSION}")
    return value


SchemaVersion = Annotated[
    int,
    AfterValidator(_first_version),
    WithJsonSchema(
        {
            "type": "integer",
            "enum": [FIRST_VERSION],
            "description": f"the version of this event's shape; omitted, it is {FIRST_VERSION}",
        }
    ),
]


def fingerprint_of(canonical: str | bytes) -> str:
    """The fingerprint of an event's canonical text (``Event.canonical``)."""
    data = canonical.encode() if isinstance(canonical, str) else canonical
    return hashlib.sha256(data).hexdigest()[:32]


class Event(BaseModel):
    """What happened, when. Immutable; unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    event_id: EventId
    occurred_at: Timestamp
    schema_version: SchemaVersion = FIRST_VERSION

    def wire(self) -> dict[str, object]:
        """The JSON-safe form that travels on the queues, and is fingerprinted
        for idempotency: the version is left out when it is the default, so
        an event reads (and fingerprints) as it did before versions existed,
        whether or not its publisher wrote ``"schema_version": 1``."""
        data = self.model_dump(mode="json")
        if data["schema_version"] == FIRST_VERSION:
            del data["schema_version"]
        return data

    def canonical(self) -> str:
        """The content as one canonical JSON text: the message's argument on
        the queue, and what the fingerprint hashes."""
        return canonical_bytes(self.wire()).decode()

    def fingerprint(self) -> str:
        """Tells a replay (same event id, same content) from a reuse (other content)."""
        return fingerprint_of(canonical_bytes(self.wire()))

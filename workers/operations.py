"""What operators see and do, the same for the CLI, the HTTP API and the
console: queue depths, dead letters found by a filter, and bulk retry and
purge that act only on what was chosen and say how many they touched."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

from events import Queue
from store.base import Refusals
from workers.dead_letters import DeadLetter, DeadLetters, Outcome
from workers.transport.inspect import Inspector, QueueDepth

QUEUES = [q.value for q in Queue]


def queue_depths(
    client: redis.Redis, namespace: str, refusals: Refusals, *, heartbeat_timeout_ms: int
) -> list[QueueDepth]:
    refused = Counter(r.queue for r in refusals.list())
    return Inspector(client, namespace).depths(
        QUEUES, refused, heartbeat_timeout_ms=heartbeat_timeout_ms
    )


@dataclass(frozen=True)
class LetterFilter:
    """Dead letters to find: every given criterion must hold (exact match)."""

    queue: str | None = None
    type: str | None = None
    reason: str | None = None
    event_id: str | None = None
    subscription_id: str | None = None

    @property
    def empty(self) -> bool:
        return not any(self.criteria().values())

    def criteria(self) -> dict[str, str | None]:
        return {
            "queue": self.queue,
            "type": self.type,
            "reason": self.reason,
            "event_id": self.event_id,
            "subscription_id": self.subscription_id,
        }

    def matches(self, letter: DeadLetter) -> bool:
        payload: dict[str, Any] = letter.payload or {}
        found = {
            "queue": letter.queue,
            "type": letter.type,
            "reason": letter.reason,
            "event_id": letter.event_id,
            "subscription_id": payload.get("subscription_id"),
        }
        return all(want is None or found[k] == want for k, want in self.criteria().items())


def find(letters: DeadLetters, chosen: LetterFilter) -> list[DeadLetter]:
    return [d for d in letters.all(chosen.queue) if chosen.matches(d)]


@dataclass
class Bulk:
    """What a bulk action did: how many it touched, and to each what."""

    touched: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    results: list[dict[str, str]] = field(default_factory=list)

    def add(self, letter: DeadLetter, outcome: str) -> None:
        self.touched += 1
        self.outcomes[outcome] += 1
        self.results.append({"id": letter.id, "outcome": outcome})


def by_ids(letters: DeadLetters, ids: Iterable[str]) -> tuple[list[DeadLetter], list[str]]:
    """The dead letters with these ids, and the ids that name none."""
    every = {d.id: d for d in letters.all()}
    wanted = list(dict.fromkeys(ids))
    return [every[i] for i in wanted if i in every], [i for i in wanted if i not in every]


Action = Callable[[DeadLetters, list[DeadLetter]], "Bulk"]


def retry(letters: DeadLetters, chosen: list[DeadLetter]) -> Bulk:
    bulk = Bulk()
    for letter in chosen:
        outcome: Outcome = letters.retry(letter)
        bulk.add(letter, outcome)
    return bulk


def purge(letters: DeadLetters, chosen: list[DeadLetter]) -> Bulk:
    bulk = Bulk()
    for letter in chosen:
        letters.purge(letter)
        bulk.add(letter, "purged")
    return bulk

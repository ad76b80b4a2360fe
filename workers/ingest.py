"""Upstream events in, all or none: the one path ``subcycle publish`` and the
HTTP API (``POST /v1/events``, ``/v1/events/batch``) share.

Every item is judged at the edge (``events.parse_upstream``); an id that two
items of the batch use with different content, or that was published before
with other content, is refused (``event_id_reused``). Only a batch with no
problem at all is enqueued. A problem names its item by position, which the
door words its own way (``line 3`` for a file, ``index 2`` for the API).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from events import Event, InvalidEvent, Problem, parse_upstream, read_json
from events.reasons import Reason
from workers.publisher import Publisher, PublishResult

Where = Callable[[int], str]  # how a door names an item: 3 -> "line 3", "index 2"


@dataclass(frozen=True)
class ItemProblem:
    position: int
    problem: Problem
    reason: Reason = Reason.INVALID_EVENT


@dataclass
class Judged:
    """The events of a batch that passed, each with its position; the problems."""

    events: list[tuple[int, Event]] = field(default_factory=list)
    problems: list[ItemProblem] = field(default_factory=list)

    @property
    def only(self) -> list[Event]:
        return [e for _, e in self.events]


class Refused(Exception):
    """Nothing was enqueued: every problem of the batch, by position."""

    def __init__(self, problems: list[ItemProblem]) -> None:
        self.problems = problems
        reused = all(p.reason is Reason.EVENT_ID_REUSED for p in problems)
        self.reason = Reason.EVENT_ID_REUSED if reused else Reason.INVALID_EVENT
        super().__init__(f"{len(problems)} problem(s)")


def judge(items: Sequence[tuple[int, object]], where: Where) -> Judged:
    """Judge ``(position, item)`` pairs: an item is JSON text, or an object
    already read strictly (``events.read_json``)."""
    judged = Judged()
    first: dict[str, tuple[int, Event]] = {}
    for position, item in items:
        try:
            raw = read_json(item) if isinstance(item, str | bytes) else item
            event = parse_upstream(raw)
        except InvalidEvent as e:
            judged.problems += [ItemProblem(position, p, e.reason) for p in e.problems]
            continue
        earlier = first.setdefault(event.event_id, (position, event))
        # Fingerprints only for an id seen twice: most batches repeat none.
        if earlier[1] is not event and earlier[1].fingerprint() != event.fingerprint():
            judged.problems.append(
                ItemProblem(
                    position,
                    Problem(
                        "event_id",
                        f"{Reason.EVENT_ID_REUSED} ({where(earlier[0])} has "
                        f"{event.event_id!r} with another payload)",
                    ),
                    Reason.EVENT_ID_REUSED,
                )
            )
            continue
        judged.events.append((position, event))
    return judged


def publish_all(publisher: Publisher, judged: Judged) -> PublishResult:
    """Enqueue a batch with no problem, or raise ``Refused`` having enqueued
    nothing: its own problems, or ids published before with other content."""
    if judged.problems:
        raise Refused(judged.problems)
    if len(judged.events) == 1:
        # One event is all or nothing by itself: the enqueue script's answer
        # says whether its id was used before, with no read ahead of it.
        result = publisher.publish(judged.only)
        if result.reused:
            [(position, event)] = judged.events
            raise Refused([_reused(position, event.event_id)])
        return result
    refuse_reused(publisher, judged)
    return publisher.publish(judged.only)


class Claims(Protocol):
    def reused_ids(self, events: Sequence[Event]) -> set[str]: ...


def refuse_reused(claims: Claims, judged: Judged) -> None:
    """Raise ``Refused`` naming every item whose id was published (or
    imported) before with other content."""
    reused = claims.reused_ids(judged.only)
    if reused:
        raise Refused(
            [_reused(position, e.event_id) for position, e in judged.events if e.event_id in reused]
        )


def _reused(position: int, event_id: str) -> ItemProblem:
    return ItemProblem(
        position,
        Problem(
            "event_id",
            f"{Reason.EVENT_ID_REUSED} ({event_id!r} was published before with another payload)",
        ),
        Reason.EVENT_ID_REUSED,
    )

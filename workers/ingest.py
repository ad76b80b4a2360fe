"""Upstream events in, all or none: the one path ``subcycle publish`` and the
HTTP API (``POST /v1/events``, ``/v1/events/batch``) share.

Every item is judged at the edge (``events.parse_upstream``); an id that two
items of the batch use with different content, or that was published before
with other content, is refused (``event_id_reused``). Only a batch with no
problem at all is enqueued. A problem names its item by position, which the
door words its own way (``line 3`` for a file, ``index 2`` for the API).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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
    return refuse_repeats(parse_items(items), where)


def parse_items(items: Iterable[tuple[int, object]]) -> Judged:
    """Each item read and judged by the models, by itself: the first half of
    ``judge`` (``subcycle import`` runs it where the events will apply)."""
    judged = Judged()
    for position, item in items:
        try:
            raw = read_json(item) if isinstance(item, str | bytes) else item
            judged.events.append((position, parse_upstream(raw)))
        except InvalidEvent as e:
            judged.problems += [ItemProblem(position, p, e.reason) for p in e.problems]
    return judged


def refuse_repeats(parsed: Judged, where: Where) -> Judged:
    """The second half of ``judge``: an id that an earlier item (in position
    order) used with other content is refused, naming that item; the same
    event given twice stays, as a duplicate."""
    judged = Judged(problems=list(parsed.problems))
    first: dict[str, tuple[int, Event]] = {}
    repeats = False
    for position, event in parsed.events:
        earlier = first.setdefault(event.event_id, (position, event))
        # Fingerprints only for an id seen twice: most batches repeat none.
        if earlier[1] is not event and earlier[1].fingerprint() != event.fingerprint():
            judged.problems.append(repeated(position, event.event_id, earlier[0], where))
            repeats = True
            continue
        judged.events.append((position, event))
    if repeats:  # an item has parse problems or a repeat, never both
        judged.problems.sort(key=lambda p: p.position)
    return judged


def repeated(position: int, event_id: str, first: int, where: Where) -> ItemProblem:
    """The item at ``position`` uses the id of the one at ``first`` with other content."""
    return ItemProblem(
        position,
        Problem(
            "event_id",
            f"{Reason.EVENT_ID_REUSED} ({where(first)} has {event_id!r} with another payload)",
        ),
        Reason.EVENT_ID_REUSED,
    )


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
    problems = reused(claims, judged.events)
    if problems:
        raise Refused(problems)


def reused(claims: Claims, events: Sequence[tuple[int, Event]]) -> list[ItemProblem]:
    """A problem for every item whose id was published before with other content."""
    found = claims.reused_ids([e for _, e in events])
    return [_reused(position, e.event_id) for position, e in events if e.event_id in found]


def _reused(position: int, event_id: str) -> ItemProblem:
    return ItemProblem(
        position,
        Problem(
            "event_id",
            f"{Reason.EVENT_ID_REUSED} ({event_id!r} was published before with another payload)",
        ),
        Reason.EVENT_ID_REUSED,
    )

"""Refusals of bad input, phrased for the person who sent it: each problem
names the field, in the same words whichever door the input came through."""

from __future__ import annotations

from dataclasses import dataclass

from events.reasons import Reason


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an event: the field (dotted) and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidEvent(ValueError):
    """An event that cannot be accepted; ``problems`` name each field.

    ``reason`` is ``invalid_event``, or ``reserved_event_id`` when the only
    thing wrong is an id that subcycle keeps for itself.
    """

    def __init__(self, problems: list[Problem], reason: Reason = Reason.INVALID_EVENT) -> None:
        self.problems = problems
        self.reason = reason
        super().__init__("; ".join(str(p) for p in problems))

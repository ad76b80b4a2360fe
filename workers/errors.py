"""Errors raised in workers. ``Rejected`` is never retried: it dead-letters."""

from __future__ import annotations


class WorkerError(Exception):
    """Root of every error the workers raise."""


class Rejected(WorkerError):
    """A message that no retry can fix (bad event, reused id, exhausted race)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")

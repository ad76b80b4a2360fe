"""Errors raised in workers. ``Rejected`` is never retried: it dead-letters."""

from __future__ import annotations


class WorkerError(Exception):
    """Root of every error the workers raise."""


class Rejected(WorkerError):
    """A message that no retry can fix (bad event, reused id, exhausted race)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


class RetryLater(WorkerError):
    """Run this message again after ``delay_ms``: what it needs may be on its
    way on another queue (a purchase racing the request that needs it)."""

    def __init__(self, reason: str, delay_ms: int) -> None:
        self.reason = reason
        self.delay_ms = delay_ms
        super().__init__(f"{reason}: again in {delay_ms} ms")

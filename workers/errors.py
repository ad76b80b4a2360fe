"""What a handler raises besides a refusal (``events.reasons.Refusal``):
``RetryLater``, and the actors' ``Rejected``, which is never retried."""

from __future__ import annotations

from events.reasons import Reason


class WorkerError(Exception):
    """Root of every error the workers raise."""


class Rejected(WorkerError):
    """A message that no retry can fix: the actor dead-letters it (its
    refusal record is written first)."""

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


class RetryLater(WorkerError):
    """Run this message again: after ``delay_ms``, or after the queue's own
    back-off when None (a provider's blip; a purchase racing on another
    queue)."""

    def __init__(self, reason: str, delay_ms: int | None = None) -> None:
        self.reason = reason
        self.delay_ms = delay_ms
        when = "with back-off" if delay_ms is None else f"in {delay_ms} ms"
        super().__init__(f"{reason}: again {when}")

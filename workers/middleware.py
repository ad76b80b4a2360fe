"""Per-message context for logs, and the tally that ``subcycle drain`` prints."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import structlog
from dramatiq import Middleware
from dramatiq.broker import Broker, MessageProxy


def _event_id(message: MessageProxy) -> str | None:
    if message.args and isinstance(message.args[0], dict):
        value = message.args[0].get("event_id")
        return value if isinstance(value, str) else None
    return None


class LogContext(Middleware):
    """Binds event id, message id, actor and queue to every log line of a message."""

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            event_id=_event_id(message),
            message_id=message.message_id,
            actor=message.actor_name,
            queue=message.queue_name,
        )

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        structlog.contextvars.clear_contextvars()

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        structlog.contextvars.clear_contextvars()


class Tally(Middleware):
    """Counts what happened to messages in this process (processed, retried, …)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self._in_flight: set[str] = set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        with self._lock:
            self._in_flight.add(message.message_id)

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            self._in_flight.discard(message.message_id)
            # Retries has not decided yet (after-hooks run in reverse order):
            # a failure becomes a dead letter in after_nack, else a retry.
            self.counts["processed" if exception is None else "failed"] += 1

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        with self._lock:
            self.counts["dead_lettered"] += 1

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        # A message skipped before our before-hook ran was never counted in.
        with self._lock:
            self._in_flight.discard(message.message_id)
            self.counts["skipped"] += 1


def tally_of(broker: Broker) -> Tally:
    for middleware in broker.middleware:
        if isinstance(middleware, Tally):
            return middleware
    raise LookupError("broker has no Tally middleware")

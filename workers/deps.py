"""What handlers depend on, passed in by the composition root (no globals):
each a typed port, so a handler test passes hand-written fakes
(tests/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from events import Event
from store.base import Store
from store.subscriptions import ExtraWrites
from workers.gateway.base import OutgoingMessage
from workers.otp import Otp
from workers.policies import RacingPurchase, ReminderPolicy

Clock = Callable[[], datetime]
TaskSender = Callable[[str, tuple[Any, ...]], None]


class FollowUps(Protocol):
    """Where a handler sends the events it derives (workers/publisher.py)."""

    def publish_derived(self, events: Iterable[Event]) -> Any: ...


class Deliveries(Protocol):
    """Exactly-once delivery through the gateway (workers/gateway/delivery.py)."""

    def deliver(self, message: OutgoingMessage, sent_at: datetime, keep_for: timedelta) -> bool: ...


def _no_tasks(name: str, args: tuple[Any, ...]) -> None:
    raise RuntimeError(f"no task sender wired: cannot send {name}")


def _no_message() -> ExtraWrites | None:
    return None


def _nothing_settled(result: object) -> None:
    return None


def _not_in_a_worker() -> int | None:
    return None


@dataclass
class Deps:
    store: Store
    publisher: FollowUps
    # Physical time, only where physical time is the point (refusal records,
    # code validity, sent_at). Business decisions use the event's occurred_at.
    clock: Clock
    delivery: Deliveries
    codes: Otp
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    racing: RacingPurchase = field(default_factory=RacingPurchase)
    # Enqueues a task actor's message: (task name, args). See workers/tasks.py.
    send_task: TaskSender = field(default=_no_tasks)
    # Extra writes that settle the queue message being handled, for a commit
    # that is its last effect (workers/transport/settle.py); None outside a
    # worker. ``settled`` is given each handler's result, to know.
    settlement: Callable[[], ExtraWrites | None] = field(default=_no_message)
    settled: Callable[[object], None] = field(default=_nothing_settled)
    # How many times the message being handled was retried; None outside a
    # worker, where nothing can be retried later.
    retries: Callable[[], int | None] = field(default=_not_in_a_worker)

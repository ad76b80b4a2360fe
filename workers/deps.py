"""What handlers depend on, passed in by the composition root (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from store.redis import RedisStore
from store.settle import Settlement
from workers.gateway.delivery import Delivery
from workers.publisher import Publisher


@dataclass(frozen=True)
class RetryPolicy:
    """How long a cancellation or consent waits for a purchase it may be racing."""

    unknown_subscription_retries: int = 5
    unknown_subscription_backoff_ms: int = 250


def _no_message() -> Settlement | None:
    return None


def _not_in_a_worker() -> int | None:
    return None


def _no_tasks(name: str, args: tuple[Any, ...]) -> None:
    raise RuntimeError(f"no task sender wired: cannot send {name}")


@dataclass
class Deps:
    store: RedisStore
    publisher: Publisher
    # Physical time, only where physical time is the point (refusal records,
    # code validity). Business decisions use the event's occurred_at.
    clock: Callable[[], datetime]
    delivery: Delivery
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    extras: dict[str, Any] = field(default_factory=dict)
    # Enqueues a task actor's message: (task name, args). See workers/tasks.py.
    send_task: Callable[[str, tuple[Any, ...]], None] = field(default=_no_tasks)
    # The queue message being handled, for a commit that is its last effect
    # to settle it (store/settle.py); None outside a worker.
    settlement: Callable[[], Settlement | None] = field(default=_no_message)
    # How many times the message being handled was retried; None outside a
    # worker, where nothing can be retried later.
    retries: Callable[[], int | None] = field(default=_not_in_a_worker)

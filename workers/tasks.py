"""Sending a message to a task actor (``TASKS``: shards, sends), which, unlike
an event, has no event id to claim: its actor must be safe to run twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dramatiq import Broker, Message

from workers.handlers import TASKS

TaskSender = Callable[[str, tuple[Any, ...]], None]


def task_sender(broker: Broker) -> TaskSender:
    def send(name: str, args: tuple[Any, ...]) -> None:
        task = TASKS[name]
        message: Message[None] = Message(
            queue_name=task.queue.value, actor_name=name, args=args, kwargs={}, options={}
        )
        broker.enqueue(message)

    return send

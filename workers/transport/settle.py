"""Settling a queue message in the same script as the change it carried.

A worker acks a message after its handler returns: one more round trip, and
a window in which the change is committed but the message is still the
worker's, to be redelivered if it dies. When the change is the message's
last effect, the commit can take the message off the queue itself, exactly
as Dramatiq's ack does (remove it from the worker's ack set, and only if it
was there, drop its body): the effect and the ack happen together or not at
all.

The store knows nothing of messages: the transport hands its commit opaque
extra writes (``store.subscriptions.ExtraWrites``); the commit says whether
it made them (``Applied.extra_written``); the actor gives its handler's
result to ``SettledByCommit.note``, and the consumer skips that message's
ack. The store calls nothing back.
"""

from __future__ import annotations

import threading
from typing import Any

from dramatiq.middleware import CurrentMessage

from store.subscriptions import Applied, ExtraWrites
from workers.transport.keys import QueueKeys


def settlement(keys: QueueKeys, worker_id: str, queue: str, redis_message_id: str) -> ExtraWrites:
    """What ``dispatch.lua``'s ack does, as extra writes of a commit."""
    return ExtraWrites(
        (
            ("SREM", keys.acks(worker_id, queue), redis_message_id),
            ("HDEL", keys.messages(queue), redis_message_id),
        )
    )


def current_settlement(keys: QueueKeys, worker_id: str) -> ExtraWrites | None:
    """The settlement of the message this worker thread is handling, if any."""
    message = CurrentMessage.get_current_message()
    if message is None or "redis_message_id" not in message.options:
        return None
    # The queue it was fetched from: a delayed message is acked on its own queue.
    return settlement(keys, worker_id, message.queue_name, message.options["redis_message_id"])


class SettledByCommit:
    """Marks a message whose commit settled it, so its consumer skips the ack."""

    def __init__(self) -> None:
        self._settled: set[str] = set()
        self._lock = threading.Lock()

    def note(self, result: Any) -> None:
        """The handler's result for the message this thread is handling."""
        if not (isinstance(result, Applied) and result.extra_written):
            return
        message = CurrentMessage.get_current_message()
        if message is not None:
            with self._lock:
                self._settled.add(message.options["redis_message_id"])

    def take(self, redis_message_id: str) -> bool:
        """True once, for a message a commit settled: its ack is done."""
        with self._lock:
            try:
                self._settled.remove(redis_message_id)
            except KeyError:
                return False
            return True

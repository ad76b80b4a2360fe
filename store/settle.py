"""Settling a queue message in the same script as the change it carried.

A worker acks a message after its handler returns: one more round trip, and
a window in which the change is committed but the message is still the
worker's, to be redelivered if it dies. When the change is the message's
last effect, the commit can take the message off the queue itself, exactly
as the broker's ack does (remove it from the worker's ack set, and only then
drop its body), so the effect and the ack happen together or not at all.
The store knows nothing of Dramatiq: the broker names the keys
(workers/broker.py) and is told when the commit took the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Settlement:
    acks: str  # the set of message ids the worker holds for the queue
    messages: str  # the queue's hash of message bodies
    message_id: str
    settled: Callable[[], None]  # called once the commit has taken the message

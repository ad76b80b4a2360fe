"""The message gateway port: how an SMS or a voice call leaves the system.

Adding a provider is one adapter with ``send``. ``deliver`` wraps any adapter
with the exactly-once rule: a message the provider accepted is recorded
before the actor acks, so a redelivery makes no second call; the message id
travels as the provider's idempotency key for a crash in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Channel = Literal["sms", "voice"]
Kind = Literal["renewal_reminder", "verification_code"]


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    to: str
    channel: Channel
    kind: Kind
    text: str
    locale: str = "ja"


class GatewayError(Exception):
    """Root of gateway failures."""


class TemporaryFailure(GatewayError):
    """5xx, 429, a timeout: try again later."""


class PermanentFailure(GatewayError):
    """The provider refused the message (4xx); ``reason`` is its word."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Gateway(Protocol):
    def send(self, message: OutgoingMessage, sent_at: datetime) -> None: ...

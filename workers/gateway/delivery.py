"""Exactly-once effect over an at-least-once gateway call."""

from __future__ import annotations

from datetime import datetime, timedelta

import redis

from store.keys import Keys
from workers import metrics
from workers.gateway.base import Gateway, OutgoingMessage


class Delivery:
    """Sends through ``gateway`` unless ``message_id`` was already accepted."""

    def __init__(self, gateway: Gateway, client: redis.Redis, keys: Keys) -> None:
        self.gateway = gateway
        self._r = client
        self._keys = keys

    def already_sent(self, message_id: str) -> bool:
        return bool(self._r.exists(self._keys.sent(message_id)))

    def deliver(self, message: OutgoingMessage, sent_at: datetime, keep_for: timedelta) -> bool:
        """True when this call delivered it; False when it had been delivered before.

        ``keep_for``: how long a redelivery of the message can still arrive
        and matter (a code's attempt, a reminder's term); the record of the
        delivery is dropped after that, so it never outlives its purpose.
        """
        if self.already_sent(message.message_id):
            return False
        self.gateway.send(message, sent_at)
        # Recorded before the actor acks: a redelivery finds it and stops here.
        keep_ms = max(1_000, int(keep_for.total_seconds() * 1000))
        self._r.set(self._keys.sent(message.message_id), sent_at.isoformat(), px=keep_ms)
        metrics.message_sent(message.channel, message.kind)
        return True

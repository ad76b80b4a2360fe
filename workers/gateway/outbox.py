"""The built-in ``outbox`` gateway (development, demos, tests): keeps what was
delivered in Redis. It holds codes too, so it is never for production."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import redis

from store.keys import Keys
from workers.gateway.base import OutgoingMessage


class OutboxGateway:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._key = keys.outbox

    def send(self, message: OutgoingMessage, sent_at: datetime) -> None:
        row = {
            "message_id": message.message_id,
            "to": message.to,
            "channel": message.channel,
            "kind": message.kind,
            "text": message.text,
            "sent_at": sent_at.isoformat(),
        }
        self._r.rpush(self._key, json.dumps(row, ensure_ascii=False))

    def messages(self, phone: str | None = None) -> list[dict[str, Any]]:
        rows = [json.loads(raw) for raw in self._r.lrange(self._key, 0, -1)]
        return [r for r in rows if phone is None or r["to"] == phone]

"""Console sessions: an operator signs in with an API key once; the browser
then holds a random session id in an HttpOnly cookie. Redis keeps, under the
id's hash (never the id), the key's hash, its name and the session's CSRF
token, for ``ttl``. Every request checks the key still exists and still has
its scope, so revoking the key ends its sessions at once."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

import redis

from store.keys import Keys


@dataclass(frozen=True)
class Session:
    key_hash: str
    key_name: str
    csrf: str


def _hashed(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class RedisSessions:
    def __init__(self, client: redis.Redis, keys: Keys, ttl: timedelta) -> None:
        self._r = client
        self._prefix = f"{keys.prefix}console:session:"
        self.ttl = ttl

    def create(self, key_hash: str, key_name: str) -> tuple[str, Session]:
        session_id = secrets.token_urlsafe(32)
        session = Session(key_hash, key_name, secrets.token_urlsafe(32))
        record = {"key_hash": key_hash, "key_name": key_name, "csrf": session.csrf}
        self._r.set(
            self._prefix + _hashed(session_id),
            json.dumps(record),
            px=int(self.ttl.total_seconds() * 1000),
        )
        return session_id, session

    def get(self, session_id: str) -> Session | None:
        raw = self._r.get(self._prefix + _hashed(session_id))
        if raw is None:
            return None
        record = json.loads(raw)
        return Session(record["key_hash"], record["key_name"], record["csrf"])

    def drop(self, session_id: str) -> None:
        self._r.delete(self._prefix + _hashed(session_id))

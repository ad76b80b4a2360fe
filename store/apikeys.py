"""API keys: a name, its scopes and the SHA-256 of its secret, never the key.

A key is 32 random bytes (``sc_`` and 43 URL-safe characters) printed once
when made. A request's key is found by its hash in one read (the record is
kept under its hash; the names only point at hashes, for listing and
revoking) and the stored hash compared with ``hmac.compare_digest``; a
revoked key's records are gone at once, so it stops working on the next
request. SHA-256 (not a slow password hash) is
enough for a random 256-bit secret: there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from store.keys import Keys
from store.text import text

PREFIX = "sc_"


@dataclass(frozen=True)
class ApiKey:
    name: str
    scopes: frozenset[str]
    created_at: datetime
    last_used_at: datetime | None = None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyExists(ValueError):
    pass


class RedisApiKeys:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._names = f"{keys.prefix}apikeys"  # name -> hash
        self._records = f"{keys.prefix}apikeys:by-hash"  # hash -> record

    def create(self, name: str, scopes: frozenset[str], now: datetime) -> str:
        """Make a key; returns it (the only time it is ever seen)."""
        key = PREFIX + secrets.token_urlsafe(32)
        digest = key_hash(key)
        record = {
            "name": name,
            "scopes": sorted(scopes),
            "hash": digest,
            "created_at": now.isoformat(),
            "last_used_at": None,
        }
        if not self._r.hsetnx(self._names, name, digest):
            raise KeyExists(name)
        self._r.hset(self._records, digest, json.dumps(record))
        return key

    def find(self, key: str) -> ApiKey | None:
        """The key's record, or None when it is unknown or revoked."""
        return self.by_hash(key_hash(key))

    def by_hash(self, digest: str) -> ApiKey | None:
        """The record of the key with this hash (a console session holds it)."""
        raw = self._r.hget(self._records, digest)
        if raw is None:
            return None
        record = json.loads(raw)
        if not hmac.compare_digest(str(record.get("hash", "")), digest):
            return None
        return _key(record)

    def touch(self, name: str, now: datetime) -> None:
        """Note a use (callers throttle how often)."""
        digest = self._r.hget(self._names, name)
        raw = None if digest is None else self._r.hget(self._records, digest)
        if digest is None or raw is None:
            return
        record = json.loads(raw)
        record["last_used_at"] = now.isoformat()
        self._r.hset(self._records, digest, json.dumps(record))

    def list(self) -> list[ApiKey]:
        found: Any = self._r.hgetall(self._records)
        return sorted((_key(json.loads(v)) for v in found.values()), key=lambda k: k.name)

    def revoke(self, name: str) -> bool:
        digest = self._r.hget(self._names, name)
        if digest is None:
            return False
        with self._r.pipeline() as pipe:
            pipe.hdel(self._records, digest)
            pipe.hdel(self._names, name)
            pipe.execute()
        return True


def _key(record: dict[str, Any]) -> ApiKey:
    last = record.get("last_used_at")
    return ApiKey(
        name=text(record["name"]),
        scopes=frozenset(record.get("scopes", [])),
        created_at=datetime.fromisoformat(record["created_at"]),
        last_used_at=datetime.fromisoformat(last) if last else None,
    )

"""The Redis adapter of the store port; the embedded default is this same
adapter on fakeredis, not a second implementation."""

from __future__ import annotations

from datetime import timedelta

import redis

from store.apikeys import RedisApiKeys
from store.billing import RedisBilling
from store.events import RedisEventLog
from store.expiry import ExpiryIndex
from store.keys import Keys
from store.ledger import RedisLedger
from store.otp import RedisOtp
from store.refusals import DEFAULT_RETENTION, RedisRefusals
from store.roundtrips import Pipelined, RoundTrips
from store.sessions import RedisSessions
from store.subscriptions import RedisSubscriptions


class RedisStore:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "subcycle:",
        io: RoundTrips | None = None,
        refused_retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self.client = client
        self.keys = Keys(prefix)
        self.io = io if io is not None else Pipelined(client)
        self.subscriptions = RedisSubscriptions(client, self.keys, self.io)
        self.events = RedisEventLog(client, self.keys)
        self.refusals = RedisRefusals(client, self.keys, refused_retention)
        self.billing = RedisBilling(client, prefix)
        self.ledger = RedisLedger(client, self.keys)
        self.expiry = ExpiryIndex(client, self.keys)
        self.codes = RedisOtp(client, self.keys)
        self.api_keys = RedisApiKeys(client, self.keys)
        self.sessions = RedisSessions(client, self.keys, timedelta(hours=8))

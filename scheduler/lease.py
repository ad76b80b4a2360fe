"""One active scheduler replica: a Redis key with a TTL that the holder renews.

A replica that stops renewing (killed, partitioned) loses the lease when the
TTL lapses; a waiting replica then takes it and catches up what was missed.
"""

from __future__ import annotations

from importlib import resources

import redis


def _script(name: str) -> str:
    return (resources.files("scheduler") / "scripts" / f"{name}.lua").read_text()


class Lease:
    def __init__(self, client: redis.Redis, key: str, holder: str, ttl_ms: int) -> None:
        self._r = client
        self.key = key
        self.holder = holder
        self.ttl_ms = ttl_ms
        self._renew = client.register_script(_script("lease_hold"))
        self._release = client.register_script(_script("lease_release"))

    def hold(self) -> bool:
        """Take the lease if it is free, renew it if ours; True while we hold it."""
        return bool(self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]))

    def release(self) -> None:
        """Let a waiting replica take over at once (a clean shutdown)."""
        self._release(keys=[self.key], args=[self.holder])

    def holder_now(self) -> str | None:
        return holder_of(self._r, self.key)


def holder_of(client: redis.Redis, key: str) -> str | None:
    """Who holds the lease at ``key`` now (None when it is free): for readers
    such as the exporter, which hold no lease themselves."""
    raw = client.get(key)
    return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

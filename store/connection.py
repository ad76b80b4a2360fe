"""Redis clients: the real server, or the embedded one (fakeredis) for the demo.

The embedded server lives in this process only; every client made for
``memory://`` in one process shares it, so the broker and the store see the
same data.
"""

from __future__ import annotations

from typing import Any

import redis

MEMORY_URL = "memory://"
_embedded: Any = None  # the process's fakeredis.FakeServer, made on first use


class EmbeddedUnavailable(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "the embedded Redis needs fakeredis: pip install 'subcycle[embedded]' "
            "(make demo and make test install it)"
        )


def is_embedded(url: str) -> bool:
    return url.startswith(MEMORY_URL)


def connect(url: str, *, decode: bool = False) -> redis.Redis:
    """A client for ``url``. Building it does not connect; the first command does."""
    global _embedded
    if is_embedded(url):
        try:
            import fakeredis  # the demo's extra, not production's
        except ImportError:
            raise EmbeddedUnavailable() from None
        if _embedded is None:
            _embedded = fakeredis.FakeServer()
        client: redis.Redis = fakeredis.FakeRedis(server=_embedded, decode_responses=decode)
        return client
    return redis.Redis.from_url(
        url,
        decode_responses=decode,
        health_check_interval=10,
        socket_keepalive=True,
        retry_on_timeout=True,
    )

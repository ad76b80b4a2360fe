"""What an acknowledged publish promises (``SUBCYCLE_DURABILITY``, SPEC
section 14): ``subcycle publish`` returning 0, or an HTTP 202.

- ``memory`` (default): in Redis memory and its AOF buffer; a crash of the
  Redis host can lose about the last second (``appendfsync everysec``).
- ``fsync``: on the primary's disk. Where the server has ``WAITAOF`` (Redis
  ≥ 7.2) each batch waits for it; else the server must run ``appendonly
  yes`` with ``appendfsync always`` (it fsyncs before it replies), checked
  at start.
- ``replica``: on at least one replica (``WAIT 1 timeout`` after each batch,
  on the connection that wrote it); else the publish fails (exit 1, HTTP
  503) and the events are safe to publish again.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from subcycle.settings import Settings
from workers.transport.enqueue import Confirm

WAITAOF_SINCE = (7, 2)


def confirmer(settings: Settings, client: redis.Redis) -> Callable[[], Confirm | None] | None:
    """What the publisher's door waits for after each batch (None: nothing)."""
    timeout = settings.durability_timeout_ms
    if settings.durability == "replica":
        wait = Confirm(("WAIT", 1, timeout), "a replica's copy")
        return lambda: wait
    if settings.durability == "fsync":
        chosen: list[Confirm | None] = []

        def fsync() -> Confirm | None:
            if not chosen:  # asked once, on the first publish (building connects nothing)
                aof = Confirm(("WAITAOF", 1, 0, timeout), "the primary's fsync")
                chosen.append(aof if has_waitaof(client) else None)
            return chosen[0]

        return fsync
    return None


def server_version(client: redis.Redis) -> tuple[int, ...] | None:
    try:
        raw = str(client.info("server").get("redis_version", ""))
    except redis.ResponseError:
        return None
    parts = [p for p in raw.split(".") if p.isdigit()]
    return tuple(int(p) for p in parts) or None


def has_waitaof(client: redis.Redis) -> bool:
    version = server_version(client)
    return version is not None and version >= WAITAOF_SINCE


def fsync_problems(client: redis.Redis, where: str) -> list[str]:
    """Why this server cannot keep ``SUBCYCLE_DURABILITY=fsync`` (none if it can)."""
    if has_waitaof(client):  # WAITAOF confirms each batch, but only with an AOF
        persistence = client.info("persistence")
        if str(persistence.get("aof_enabled", "0")) == "1":
            return []
        return [
            f"SUBCYCLE_DURABILITY=fsync: {where} has appendonly no; set appendonly yes "
            "(WAITAOF waits for the AOF), or choose SUBCYCLE_DURABILITY=memory or replica"
        ]
    try:
        found = client.config_get("append*")
    except redis.ResponseError:
        return [
            f"SUBCYCLE_DURABILITY=fsync: {where} refuses CONFIG GET and has no WAITAOF (Redis "
            "< 7.2), so appendfsync always cannot be confirmed; SUBCYCLE_REDIS_CHECKS=skip if "
            "you know it is set"
        ]
    config = {_text(k): _text(v) for k, v in found.items()}
    appendonly, appendfsync = config.get("appendonly"), config.get("appendfsync")
    if appendonly == "yes" and appendfsync == "always":
        return []
    return [
        f"SUBCYCLE_DURABILITY=fsync: {where} has appendonly {appendonly} and appendfsync "
        f"{appendfsync}; set appendonly yes and appendfsync always (or use Redis >= 7.2, "
        "which has WAITAOF), or choose SUBCYCLE_DURABILITY=memory or replica"
    ]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

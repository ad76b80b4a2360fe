"""What a process checks before it starts (SPEC sections 11 and 14).

Production is the default (``SUBCYCLE_ENV=production``). A process that
runs actors, the scheduler or the API, or verifies codes, refuses to start
in production without a real gateway and a real secret: the outbox keeps
codes in Redis, a plain http:// provider can be read on the wire, and a
secret generated per host makes one host's codes fail on another.

Once connected, a production process also checks the Redis server
(``check_redis``, SPEC section 14).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis
from pydantic import SecretStr

from store.connection import redact
from subcycle.durability import fsync_problems, server_version
from subcycle.settings import Settings
from workers.otp import MIN_SECRET_BYTES


class NotReady(Exception):
    """Settings this process cannot start with; each problem names its variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def production_problems(settings: Settings) -> list[str]:
    if settings.env != "production":
        return []
    problems = []
    hint = "(SUBCYCLE_ENV=production, the default; SUBCYCLE_ENV=development for local work)"
    if settings.gateway != "http":
        problems.append(
            "SUBCYCLE_GATEWAY: must be http in production; the outbox keeps codes in Redis " + hint
        )
    if not (settings.gateway_url or "").startswith("https://"):
        problems.append("SUBCYCLE_GATEWAY_URL: must be an https:// URL in production " + hint)
    secret = settings.otp_secret
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else (secret or "")
    if len(raw.encode()) < MIN_SECRET_BYTES:
        problems.append(
            f"SUBCYCLE_OTP_SECRET: must be set to at least {MIN_SECRET_BYTES} bytes in production "
            + hint
        )
    return problems


def require_ready(settings: Settings) -> None:
    """Raise ``NotReady`` when this process must not start with ``settings``."""
    problems = production_problems(settings)
    if problems:
        raise NotReady(problems)


# What the Redis server must be, checked by a production process once it
# has connected (SPEC section 14). Each problem says what to change.


@dataclass
class RedisFindings:
    problems: list[str] = field(default_factory=list)  # refuse to start
    notes: list[str] = field(default_factory=list)  # could not check: say so, go on


def check_redis(client: redis.Redis, settings: Settings) -> RedisFindings:
    """The server behind ``client`` judged for ``settings``; nothing when
    ``SUBCYCLE_REDIS_CHECKS=skip``."""
    found = RedisFindings()
    if settings.redis_checks == "skip":
        return found
    where = f"Redis at {redact(settings.redis_url)}"
    found.problems += version_problems(client, where)  # every mode: the scripts need it
    if settings.durability == "fsync":  # asked for, so checked in development too
        found.problems += fsync_problems(client, where)
    if settings.env != "production":
        return found
    cluster = _info(client, "cluster")
    if cluster is None:
        found.notes.append(f"{where}: INFO is refused, so Redis Cluster was not ruled out" + _SKIP)
    elif str(cluster.get("cluster_enabled", 0)) == "1":
        found.problems.append(
            f"{where} is a Redis Cluster node (cluster_enabled:1), which cannot run Dramatiq's "
            "scripts (they name keys they do not declare): use a standalone primary, with "
            "replicas and Sentinel (redis+sentinel://) for availability"
        )
    policy = _config(client, "maxmemory-policy")
    if policy is None:
        memory = _info(client, "memory") or {}
        policy = str(memory["maxmemory_policy"]) if "maxmemory_policy" in memory else None
    if policy is None:
        found.notes.append(
            f"{where}: CONFIG GET and INFO are refused (a managed service, or an ACL user "
            "without them), so maxmemory-policy was not checked; make sure it is noeviction" + _SKIP
        )
    elif policy != "noeviction":
        found.problems.append(
            f"{where} has maxmemory-policy {policy}, which can evict subscriptions, claims and "
            "queued messages when memory is full: set maxmemory-policy noeviction (redis.conf, "
            "CONFIG SET, or your provider's parameter group)"
        )
    return found


# LPOP with a count (a worker's fetch, workers/transport/scripts/fetch.lua)
# and COPY (a month's first close, store/scripts/close_slice.lua) came in 6.2.
MIN_REDIS = (6, 2)


def version_problems(client: redis.Redis, where: str) -> list[str]:
    """A server older than the scripts need (nothing where INFO is refused)."""
    version = server_version(client)
    if version is None or version >= MIN_REDIS:
        return []
    shown = ".".join(str(n) for n in version)
    return [
        f"{where} is Redis {shown}: subcycle needs {MIN_REDIS[0]}.{MIN_REDIS[1]} or later (a "
        "worker's fetch pops many ids at once with LPOP's count, a month's close copies "
        "buckets with COPY); upgrade the server"
    ]


_SKIP = " (SUBCYCLE_REDIS_CHECKS=skip skips the checks)"


def _info(client: redis.Redis, section: str) -> dict[str, Any] | None:
    """``INFO section``, or None where the server refuses it (ACL, managed service)."""
    try:
        found: dict[str, Any] = client.info(section)
    except redis.ResponseError:
        return None
    return found


def _config(client: redis.Redis, name: str) -> str | None:
    """``CONFIG GET name``, or None where CONFIG is refused or renamed away."""
    try:
        found: dict[Any, Any] = client.config_get(name)
    except redis.ResponseError:
        return None
    value = found.get(name, found.get(name.encode()))
    return None if value is None else value.decode() if isinstance(value, bytes) else str(value)

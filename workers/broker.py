"""The one Redis broker, built before any actor is declared (TRAPS: Dramatiq
binds actors to the global broker when they are made)."""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from workers.middleware import LogContext, Tally


@dataclass(frozen=True)
class BrokerSettings:
    namespace: str = "subcycle"
    # Dramatiq requeues a dead worker's messages only during "maintenance",
    # run on a random share of script calls after heartbeat_timeout. These two
    # bound how long a SIGKILLed worker's messages wait (see README).
    heartbeat_timeout_ms: int = 15_000
    maintenance_chance: int = 20_000


def build_broker(client: redis.Redis, settings: BrokerSettings) -> RedisBroker:
    """A RedisBroker on ``client`` (whose responses must stay bytes)."""
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        client=client,
        namespace=settings.namespace,
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        maintenance_chance=settings.maintenance_chance,
    )
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(LogContext())
    broker.add_middleware(Tally())
    dramatiq.set_broker(broker)
    return broker


def queue_key(namespace: str, queue: str) -> str:
    return f"{namespace}:{queue}"

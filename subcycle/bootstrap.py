"""The composition root: the one place that builds the real adapters and
wires them. Tests call it with their own client, prefix and clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from events import JST, Queue
from store.connection import connect
from store.otp_rules import ms
from store.redis import RedisStore
from subcycle.annual_config import build_gateway, reminder_policy
from subcycle.otp_config import build_otp
from subcycle.settings import Settings
from workers.actors import current_retries, declare_actors
from workers.broker import BrokerSettings, build_broker
from workers.deps import Deps, RetryPolicy
from workers.gateway.delivery import Delivery
from workers.publisher import Publisher
from workers.tasks import task_sender


def system_clock() -> datetime:
    return datetime.now(JST)


@dataclass
class App:
    settings: Settings
    client: redis.Redis
    store: RedisStore
    broker: RedisBroker
    publisher: Publisher
    deps: Deps
    actors: dict[str, dramatiq.Actor[Any, Any]]


def build(
    settings: Settings,
    *,
    client: redis.Redis | None = None,
    clock: Callable[[], datetime] = system_clock,
) -> App:
    client = client if client is not None else connect(settings.redis_url)
    store = RedisStore(  # its coalescer serves the broker too
        client,
        settings.key_prefix,
        refused_retention=timedelta(days=settings.refused_retention_days),
    )
    broker = build_broker(
        client,
        BrokerSettings(
            namespace=settings.queue_namespace,
            heartbeat_timeout_ms=settings.heartbeat_timeout_ms,
            maintenance_chance=settings.maintenance_chance,
        ),
        refusals=store.refusals,
        clock=clock,
        io=store.io,
    )
    otp = build_otp(settings, store)
    publisher = Publisher(
        client,
        store.keys,
        settings.queue_namespace,
        # A login request's claim lives as long as its attempt (store/otp.py).
        claim_ttl_ms={Queue.OTP.value: ms(otp.policy.rules.attempt_lifetime)},
    )
    delivery = Delivery(build_gateway(settings, client, store.keys), client, store.keys)
    deps = Deps(
        store=store,
        publisher=publisher,
        clock=clock,
        delivery=delivery,
        retry=RetryPolicy(
            unknown_subscription_retries=settings.unknown_subscription_retries,
            unknown_subscription_backoff_ms=settings.unknown_subscription_backoff_ms,
        ),
        send_task=task_sender(broker),
        settlement=broker.current_settlement,
        retries=current_retries,
    )
    deps.extras["otp"] = otp
    deps.extras["reminders"] = reminder_policy(settings)
    actors = declare_actors(broker, deps)
    return App(settings, client, store, broker, publisher, deps, actors)

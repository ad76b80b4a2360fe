"""The composition root: the one place that builds the real adapters and
wires them. Each process builds only what it runs:

- every command: ``Core`` (settings, the Redis client, the store);
- publishing (``subcycle publish``, ticks, dead-letter retries):
  ``publisher(core)``;
- verifying codes (``subcycle otp verify``, the API): ``codes(core)``;
- importing existing contracts (``subcycle import``): ``importer(core, …)``,
  the lifecycle handlers' dependencies without a broker;
- the workers (``subcycle worker``, ``drain``): ``workers(core)``, the broker,
  the handlers' dependencies and every actor;
- the scheduler: ``ticker(core)`` (and its lease, subcycle/commands/scheduler.py).

``build`` wires all of it at once, for the tests and the demo.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dramatiq
import redis

from events import JST, Queue
from scheduler.ticks import Ticker
from store.billing import settle
from store.connection import connect
from store.otp_rules import ms
from store.redis import RedisStore
from store.roundtrips import RoundTrips
from subcycle.annual_config import build_gateway, reminder_policy
from subcycle.durability import confirmer
from subcycle.otp_config import otp_policy, otp_rules
from subcycle.settings import Settings
from workers.actors import current_retries, declare_actors
from workers.deps import Clock, Deps, FollowUps
from workers.gateway.base import OutgoingMessage
from workers.gateway.delivery import Delivery
from workers.metrics import MetricsMiddleware
from workers.middleware import LogContext, Tally
from workers.otp import Otp, OtpPolicy
from workers.policies import RacingPurchase
from workers.publisher import Publisher
from workers.tasks import task_sender
from workers.transport.broker import BrokerSettings, SubcycleBroker, build_broker
from workers.transport.coalesce import Coalescer
from workers.transport.poison import PoisonSink


def system_clock() -> datetime:
    return datetime.now(JST)


@dataclass(frozen=True)
class Core:
    settings: Settings
    client: redis.Redis
    store: RedisStore
    clock: Clock


def core(
    settings: Settings,
    *,
    client: redis.Redis | None = None,
    clock: Clock = system_clock,
    io: RoundTrips | None = None,
) -> Core:
    """Building connects nothing: the first command does."""
    client = client if client is not None else connect(settings.redis_url)
    store = RedisStore(
        client,
        settings.key_prefix,
        io=io,
        refused_retention=timedelta(days=settings.refused_retention_days),
    )
    return Core(settings, client, store, clock)


def codes(core: Core) -> Otp:
    return Otp(core.store.codes, otp_policy(core.settings))


def publisher(core: Core) -> Publisher:
    lifetime = otp_rules(core.settings).attempt_lifetime
    return Publisher(
        core.client,
        core.store.keys,
        core.settings.queue_namespace,
        # A login request's claim lives as long as its attempt (store/otp.py).
        claim_ttl_ms={Queue.OTP.value: ms(lifetime)},
        confirm=confirmer(core.settings, core.client),
    )


def ticker(core: Core, publisher: Publisher) -> Ticker:
    return Ticker(
        publisher,
        core.store.billing,
        core.clock,
        expiry_at=core.settings.expiry_at,
        first_period=core.settings.scheduler_first_period,
    )


class _NoDeliveries:
    """An import delivers nothing: the lifecycle handlers never call this."""

    def deliver(self, message: OutgoingMessage, sent_at: datetime, keep_for: timedelta) -> bool:
        raise RuntimeError("subcycle import delivers no message")


def importer(base: Core, follow_ups: FollowUps) -> Deps:
    """The lifecycle handlers' dependencies for ``subcycle import``: the
    workers' (``workers`` below) minus the broker. Its threads share their
    round trips (a coalescer, as a worker's do); the events the handlers
    would publish go to ``follow_ups``; nothing is delivered. Build it in
    the process that uses it (after a fork: its own connections)."""
    settings = base.settings
    own = core(settings, client=base.client, clock=base.clock, io=Coalescer(base.client))
    return Deps(
        store=own.store,
        publisher=follow_ups,
        clock=base.clock,
        delivery=_NoDeliveries(),
        codes=Otp(own.store.codes, OtpPolicy()),
        racing=RacingPurchase(
            retries=settings.unknown_subscription_retries,
            backoff_ms=settings.unknown_subscription_backoff_ms,
        ),
    )


@dataclass(frozen=True)
class Workers:
    broker: SubcycleBroker
    deps: Deps
    actors: dict[str, dramatiq.Actor[Any, Any]]


def workers(core: Core, publisher: Publisher, codes: Otp) -> Workers:
    """The broker (set as Dramatiq's global one), the handlers' dependencies
    and every actor. ``core``'s store should share the broker's coalescer
    (``io`` of ``core``) so a worker's threads share their round trips."""
    settings = core.settings
    io = core.store.io if isinstance(core.store.io, Coalescer) else Coalescer(core.client)
    metrics = MetricsMiddleware()
    poison = PoisonSink(core.store.refusals, core.clock)
    poison.on_moved.append(metrics.poison_moved)
    broker = build_broker(
        core.client,
        BrokerSettings(
            namespace=settings.queue_namespace,
            heartbeat_timeout_ms=settings.heartbeat_timeout_ms,
            maintenance_chance=settings.maintenance_chance,
        ),
        poison=poison,
        io=io,
        middleware=[LogContext(), Tally(), metrics],
    )
    deps = Deps(
        store=core.store,
        publisher=publisher,
        clock=core.clock,
        delivery=Delivery(
            build_gateway(settings, core.client, core.store.keys), core.client, core.store.keys
        ),
        codes=codes,
        reminders=reminder_policy(settings),
        racing=RacingPurchase(
            retries=settings.unknown_subscription_retries,
            backoff_ms=settings.unknown_subscription_backoff_ms,
        ),
        send_task=task_sender(broker),
        settlement=broker.current_settlement,
        settled=broker.settled.note,
        retries=current_retries,
    )
    return Workers(broker, deps, declare_actors(broker, deps))


@dataclass
class App:
    """Everything wired, for the tests and the demo."""

    settings: Settings
    client: redis.Redis
    store: RedisStore
    broker: SubcycleBroker
    publisher: Publisher
    deps: Deps
    actors: dict[str, dramatiq.Actor[Any, Any]]

    @property
    def core(self) -> Core:
        return Core(self.settings, self.client, self.store, self.deps.clock)


def build(
    settings: Settings,
    *,
    client: redis.Redis | None = None,
    clock: Callable[[], datetime] = system_clock,
) -> App:
    client = client if client is not None else connect(settings.redis_url)
    base = core(settings, client=client, clock=clock, io=Coalescer(client))
    # At once, so the first purchase does not wait on it (a worker's first
    # purchase settles it otherwise: store/billing.py). A user that may not
    # write the index (the API's, under ACL) leaves it to the workers.
    with contextlib.suppress(redis.exceptions.NoPermissionError):
        settle(client, base.store.keys)
    sender = publisher(base)
    running = workers(base, sender, codes(base))
    return App(settings, client, base.store, running.broker, sender, running.deps, running.actors)

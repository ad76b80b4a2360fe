"""The one Redis broker, built before any actor is declared (TRAPS: Dramatiq
binds actors to the global broker when they are made).

Two things differ from Dramatiq's stock RedisBroker, both for operators:

- its consumer checks every fetched message before a worker sees it, and
  moves poison (undecodable bytes, unknown actors, hostile options or
  arguments) aside with its reason instead of stalling in the ack set;
- a ``Recovery`` middleware beats and runs maintenance on a timer, so the
  messages of a SIGKILLed worker come back within a stated bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

import dramatiq
import redis
import structlog
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import CurrentMessage, Retries

from events import JST
from store.coalesce import Coalescer, Script
from store.refusals import RedisRefusals
from store.settle import Settlement
from workers.envelope import Poison, check_envelope
from workers.metrics import MetricsMiddleware
from workers.middleware import LogContext, Tally
from workers.poison import PoisonSink
from workers.recovery import Recovery, RetryThroughOutage

log = structlog.get_logger(__name__)

_FETCH = (resources.files("workers") / "scripts" / "fetch.lua").read_text()


@dataclass(frozen=True)
class BrokerSettings:
    namespace: str = "subcycle"
    # A worker that has not beaten for this long is dead and its fetched
    # messages are requeued. Every live worker beats every
    # ``maintenance_interval_ms`` (workers/recovery.py), so a SIGKILLed
    # worker's messages are ready again within heartbeat_timeout_ms +
    # maintenance_interval_ms (docs/operations.md, "Recovery").
    heartbeat_timeout_ms: int = 15_000
    # Dramatiq's own random maintenance (per million script calls); the
    # timer above is what makes the bound, this only helps under load.
    maintenance_chance: int = 20_000

    @property
    def maintenance_interval_ms(self) -> int:
        return max(100, min(1_000, self.heartbeat_timeout_ms // 10))


class SubcycleBroker(RedisBroker):
    """A RedisBroker whose consumer moves poison aside and coalesces acks."""

    poison: PoisonSink
    io: Coalescer
    _dispatch_script: Script

    def use(self, io: Coalescer) -> None:
        self.io = io
        self._settled: set[str] = set()
        dispatch: Any = self.scripts["dispatch"].script  # bytes, as Dramatiq read it
        text = dispatch.decode() if isinstance(dispatch, bytes) else dispatch
        self._dispatch_script = io.script(text)
        self._fetch_script = io.script(_FETCH)

    def settlement(self, message: Message[Any] | MessageProxy) -> Settlement:
        """What a commit needs to settle ``message`` as ``do_ack`` would
        (store/settle.py); the consumer then skips that message's ack."""
        rid = message.options["redis_message_id"]
        return Settlement(
            acks=self.acks_key(message.queue_name),
            messages=self.messages_key(message.queue_name),
            message_id=rid,
            settled=lambda: self._settled.add(rid),
        )

    def acks_key(self, queue_name: str) -> str:
        """This worker's set of fetched, unacked message ids (dispatch.lua's ``queue_acks``)."""
        return f"{self.namespace}:__acks__.{self.broker_id}.{queue_name}"

    def messages_key(self, queue_name: str) -> str:
        """The queue's hash of message bodies (dispatch.lua's ``queue_messages``)."""
        return f"{self.namespace}:{queue_name}.msgs"

    def current_settlement(self) -> Settlement | None:
        """The settlement of the message this worker thread is handling."""
        message = CurrentMessage.get_current_message()
        if message is None or "redis_message_id" not in message.options:
            return None
        return self.settlement(message)

    def was_settled(self, redis_message_id: str) -> bool:
        """True once, for a message a commit settled: its ack is done."""
        try:
            self._settled.remove(redis_message_id)
        except KeyError:
            return False
        return True

    def coalesced_ack(self, queue_name: str, redis_message_id: str) -> None:
        """Dramatiq's ``do_ack`` (same script, same arguments), coalesced."""
        self._coalesced_dispatch("ack", queue_name, redis_message_id)

    def coalesced_fetch(self, queue_name: str, count: int) -> list[tuple[str, bytes | None]]:
        """Dramatiq's fetch with each message's Redis id (``scripts/fetch.lua``),
        coalesced: a busy consumer's round trip joins the workers' own."""
        argv = [current_millis(), queue_name, self.broker_id, count]
        (flat,) = self.io.run(lambda pipe: self._fetch_script.queue(pipe, [self.namespace], argv))
        return [(_text(flat[i]), flat[i + 1]) for i in range(0, len(flat), 2)]

    def _coalesced_dispatch(self, command: str, queue_name: str, *args: Any) -> Any:
        """``RedisBroker._dispatch(command)(queue_name, *args)`` through the coalescer."""
        argv = [
            command,
            current_millis(),
            queue_name,
            self.broker_id,
            self.heartbeat_timeout,
            self.dead_message_ttl,
            self._should_do_maintenance(command),
            self._max_unpack_size(),  # type: ignore[no-untyped-call]
            *args,
        ]
        (reply,) = self.io.run(
            lambda pipe: self._dispatch_script.queue(pipe, [self.namespace], argv)
        )
        return reply

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _GuardedConsumer


class _GuardedConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer with a check between fetch and work.

    ``__next__`` follows dramatiq 2.2's ``_RedisConsumer.__next__``; the
    changes are ``check_envelope`` instead of a bare ``Message.decode``, and
    the fetch, which goes through the coalescer and returns each message's
    Redis id beside its body.
    """

    broker: SubcycleBroker

    def ack(self, message: MessageProxy) -> None:
        rid = message.options["redis_message_id"]
        try:
            if self.broker.was_settled(rid):
                return  # its commit took it off the queue (store/settle.py)
            # The current queue, as in Dramatiq: a delayed message is acked there.
            self.broker.coalesced_ack(self.queue_name, rid)
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]
        finally:
            self.queued_message_ids.discard(message.message_id)

    def nack(self, message: MessageProxy) -> None:
        if self.broker.was_settled(message.options["redis_message_id"]):
            # Its commit already took it off the queue: nothing to dead-letter.
            self.queued_message_ids.discard(message.message_id)
            return
        super().nack(message)  # type: ignore[no-untyped-call]

    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if self.message_cache:
                    rid, data = self.message_cache.pop(0)
                    self.misses = 0
                    checked = check_envelope(
                        rid, data, self.queue_name, self.broker.actors, current_millis()
                    )
                    if isinstance(checked, Poison):
                        self._move_aside(rid, data, checked)
                        continue
                    self.queued_message_ids.add(checked.message_id)
                    return MessageProxy(checked)
                messages: list[tuple[str, bytes | None]] = []
                if self.outstanding_message_count < self.prefetch:
                    self.message_cache = messages = self.broker.coalesced_fetch(
                        self.queue_name, self.prefetch - self.outstanding_message_count
                    )
                if not messages:
                    self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                    time.sleep(backoff_ms / 1000)
                    return None
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]

    def _move_aside(self, rid: str, data: bytes | None, poison: Poison) -> None:
        broker = self.broker
        while True:
            try:
                broker.poison.move_aside(
                    lambda rid: broker.do_nack(self.queue_name, rid),
                    rid,
                    data,
                    poison,
                    self.queue_name,
                )
                return
            except (redis.ConnectionError, redis.TimeoutError) as e:
                # Raising would restart this consumer and drop the messages it
                # has fetched but not handed out, stranding them in the ack
                # set of a live worker: wait for Redis instead.
                log.warning("poison_waits_for_redis", error=str(e))
                time.sleep(1.0)


def build_broker(
    client: redis.Redis,
    settings: BrokerSettings,
    *,
    refusals: RedisRefusals | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(JST),
    io: Coalescer | None = None,
) -> SubcycleBroker:
    """A broker on ``client`` (whose responses must stay bytes).

    ``refusals`` receives a durable record of every poison message.
    """
    broker = SubcycleBroker(  # type: ignore[no-untyped-call]
        client=client,
        namespace=settings.namespace,
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        maintenance_chance=settings.maintenance_chance,
    )
    broker.poison = PoisonSink(refusals, clock)
    broker.use(io if io is not None else Coalescer(client))
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(LogContext())
    broker.add_middleware(Tally())
    broker.add_middleware(Recovery(settings.maintenance_interval_ms))
    # Dramatiq runs after_* hooks in reverse order: placed before Retries, this
    # one runs after it, so it sees whether Retries managed to enqueue the retry.
    broker.add_middleware(RetryThroughOutage(), before=Retries)
    metrics = MetricsMiddleware()
    broker.add_middleware(metrics)
    broker.poison.on_moved.append(metrics.poison_moved)
    dramatiq.set_broker(broker)
    return broker


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

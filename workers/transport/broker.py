"""The one Redis broker, built before any actor is declared (TRAPS: Dramatiq
binds actors to the global broker when they are made).

What differs from Dramatiq's stock RedisBroker:

- its consumer fetches each message's Redis id beside its body
  (``scripts/fetch.lua``) and judges every envelope before a worker sees it
  (``envelope.py``), moving poison aside with its reason instead of letting
  it stall in the ack set or run with forged options;
- fetches and acks go through the process's coalesced round trips
  (``coalesce.py``), and a message settled by its own commit
  (``settle.py``) is not acked again;
- a ``Recovery`` middleware beats and runs maintenance on a timer, so the
  messages of a SIGKILLed worker come back within a stated bound, and gives
  back what its own ack sets hold but the process does not (holdings.py):
  the consumer says what it holds, and requeues at once the messages it
  fetched but had not handed out when it is closed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import dramatiq
import redis
import structlog
from dramatiq import Middleware
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import CurrentMessage, Retries

from store.roundtrips import Script
from store.subscriptions import ExtraWrites
from workers.transport.coalesce import Coalescer
from workers.transport.envelope import Poison, check_envelope
from workers.transport.holdings import Holdings
from workers.transport.keys import QueueKeys
from workers.transport.poison import PoisonSink
from workers.transport.recovery import Recovery, RetryThroughOutage, redis_away
from workers.transport.settle import SettledByCommit, current_settlement

log = structlog.get_logger(__name__)

_FETCH = (resources.files("workers.transport") / "scripts" / "fetch.lua").read_text()


@dataclass(frozen=True)
class BrokerSettings:
    namespace: str = "subcycle"
    # A worker that has not beaten for this long is dead and its fetched
    # messages are requeued. Every live worker beats every
    # ``maintenance_interval_ms`` (recovery.py), so a SIGKILLed worker's
    # messages are ready again within heartbeat_timeout_ms +
    # maintenance_interval_ms (docs/operations.md, "Recovery").
    heartbeat_timeout_ms: int = 15_000
    # Dramatiq's own random maintenance (per million script calls); the
    # timer above is what makes the bound, this only helps under load.
    maintenance_chance: int = 20_000

    @property
    def maintenance_interval_ms(self) -> int:
        return max(100, min(1_000, self.heartbeat_timeout_ms // 10))


class SubcycleBroker(RedisBroker):
    """A RedisBroker whose consumer judges envelopes and coalesces its I/O."""

    keys: QueueKeys
    poison: PoisonSink
    io: Coalescer
    settled: SettledByCommit
    holdings: Holdings
    _dispatch_script: Script
    _fetch_script: Script

    def use(self, io: Coalescer, poison: PoisonSink) -> None:
        self.keys = QueueKeys(self.namespace)
        self.io = io
        self.poison = poison
        self.settled = SettledByCommit()
        self.holdings = Holdings()
        dispatch: Any = self.scripts["dispatch"].script  # bytes, as Dramatiq read it
        text = dispatch.decode() if isinstance(dispatch, bytes) else dispatch
        self._dispatch_script = io.script(text)
        self._fetch_script = io.script(_FETCH)

    def current_settlement(self) -> ExtraWrites | None:
        """Extra writes that settle the message this thread is handling, for
        a commit that is its last effect (settle.py)."""
        return current_settlement(self.keys, self.broker_id)

    def coalesced_ack(self, queue_name: str, redis_message_id: str) -> None:
        """Dramatiq's ``do_ack`` (same script, same arguments), coalesced."""
        self._coalesced_dispatch("ack", queue_name, redis_message_id)

    def coalesced_fetch(self, queue_name: str, count: int) -> list[tuple[str, bytes | None]]:
        """Dramatiq's fetch with each message's Redis id (``scripts/fetch.lua``),
        coalesced: a busy consumer's round trip joins the workers' own."""
        argv = [current_millis(), queue_name, self.broker_id, count]
        (flat,) = self.io.run(lambda pipe: self._fetch_script.queue(pipe, [self.namespace], argv))
        fetched = [(_text(flat[i]), flat[i + 1]) for i in range(0, len(flat), 2)]
        self.holdings.take(queue_name, (rid for rid, _ in fetched))
        return fetched

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

    # Redis away, as Dramatiq's worker must hear it (ConnectionClosed): then it
    # retries an ack until Redis answers and restarts the consumer. A timeout is
    # the same outage seen from a host whose packets vanish
    # (tests/test_vanished_host.py), and a primary that refuses writes for now
    # (NOREPLICAS under min-replicas-to-write, a server still loading) is one
    # too (recovery.redis_away). Raised as themselves, Dramatiq takes them for a
    # bug of its own: the ack is dropped and the message stranded in the ack set
    # of a worker that is alive, until that worker restarts.
    def ack(self, message: MessageProxy) -> None:
        rid = message.options["redis_message_id"]
        holdings = self.broker.holdings
        try:
            if holdings.in_doubt(self.queue_name, rid):
                # Its first ack met an outage: the change may have died with a
                # primary that failed over. Run it again instead (holdings.py).
                self.broker.do_requeue(self.queue_name, rid)
                log.warning("ack_in_doubt_requeued", queue=self.queue_name)
            elif not self.broker.settled.take(rid):  # else its commit took it off (settle.py)
                # The current queue, as in Dramatiq: a delayed message is acked there.
                self.broker.coalesced_ack(self.queue_name, rid)
        except redis.RedisError as e:
            if not redis_away(e):
                self._let_go(rid)
                raise
            holdings.doubt(self.queue_name, rid)
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]
        finally:
            self.queued_message_ids.discard(message.message_id)
        self._let_go(rid)

    def nack(self, message: MessageProxy) -> None:
        rid = message.options["redis_message_id"]
        if self.broker.settled.take(rid):
            # Its commit already took it off the queue: nothing to dead-letter.
            self.queued_message_ids.discard(message.message_id)
            self._let_go(rid)
            return
        try:
            super().nack(message)  # type: ignore[no-untyped-call]
        except redis.RedisError as e:  # Dramatiq's own nack maps ConnectionError only
            if not redis_away(e):
                self._let_go(rid)
                raise
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]
        self._let_go(rid)

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        """Dramatiq's (on shutdown, and for a closed consumer's delayed messages)."""
        self._give_back([message.options["redis_message_id"] for message in messages])

    def close(self) -> None:
        """Dramatiq drops a closed consumer's fetched messages that it had
        not handed out (they stay in the ack set of a live worker): requeue
        them now, or leave them to ``recovery.reclaim`` when Redis is away."""
        cached, self.message_cache = self.message_cache, []
        try:
            self._give_back([rid for rid, _ in cached])
        except redis.RedisError as e:
            log.warning("requeue_on_close_failed", queue=self.queue_name, error=str(e))

    def _give_back(self, rids: list[str]) -> None:
        """Requeue ``rids`` (Dramatiq's requeue) and let them go, even when
        Redis is away: what stays in the ack set ``recovery.reclaim`` gives back."""
        try:
            if rids:
                self.broker.do_requeue(self.queue_name, *rids)
        finally:
            self._let_go(*rids)

    def _let_go(self, *rids: str) -> None:
        self.broker.holdings.let_go(self.queue_name, rids)

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
                    eta = checked.options.get("eta")
                    if isinstance(eta, int | float):
                        self.broker.holdings.hold_until(self.queue_name, rid, eta)
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
        except redis.RedisError as e:
            if not redis_away(e):
                raise
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
                self._let_go(rid)
                return
            except redis.RedisError as e:
                if not redis_away(e):
                    raise
                # Raising would restart this consumer and drop the messages it
                # has fetched but not handed out, stranding them in the ack
                # set of a live worker: wait for Redis instead.
                log.warning("poison_waits_for_redis", error=str(e))
                time.sleep(1.0)


def build_broker(
    client: redis.Redis,
    settings: BrokerSettings,
    *,
    poison: PoisonSink,
    io: Coalescer | None = None,
    middleware: Sequence[Middleware] = (),
) -> SubcycleBroker:
    """A broker on ``client`` (whose responses must stay bytes), set as
    Dramatiq's global broker; ``middleware``: the workers' own (logs, tally,
    metrics), run after the transport's."""
    broker = SubcycleBroker(  # type: ignore[no-untyped-call]
        client=client,
        namespace=settings.namespace,
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        maintenance_chance=settings.maintenance_chance,
    )
    broker.use(io if io is not None else Coalescer(client), poison)
    broker.add_middleware(CurrentMessage())
    for extra in middleware:
        broker.add_middleware(extra)
    broker.add_middleware(
        Recovery(settings.maintenance_interval_ms, orphan_grace_ms=settings.heartbeat_timeout_ms)
    )
    # Dramatiq runs after_* hooks in reverse order: placed before Retries, this
    # one runs after it, so it sees whether Retries managed to enqueue the retry.
    broker.add_middleware(RetryThroughOutage(), before=Retries)
    dramatiq.set_broker(broker)
    return broker


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

"""Bounded redelivery after a worker is killed.

Dramatiq's Redis broker has no heartbeat thread: a worker beats only when it
calls a broker script, and a dead worker's ack set is requeued only by
"maintenance", which runs on a random share of script calls (TRAPS). Left
alone, a killed worker's messages can wait many minutes.

``Recovery`` runs, in every worker, a thread that every ``interval_ms``
beats and forces maintenance on each declared queue (ready and delayed),
and beats on each queue it consumes (``QueueKeys.consumers``). So:

- a live worker is never taken for dead while it runs long handlers;
- a worker killed at time T last beat after T − interval, is dead from
  T − interval + heartbeat_timeout at the latest, and the next tick of any
  surviving worker requeues its messages: they are ready again by
  T + heartbeat_timeout + interval;
- a live worker gives back the ids of its own ack sets it does not hold
  (holdings.py: a lost fetch reply, a consumer restarted after an outage,
  an ack lost in a failover) once it has not held them for a
  heartbeat_timeout: first seen within an interval, they are ready again
  within heartbeat_timeout + 2 × interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import redis
import structlog
from dramatiq import Middleware, Worker
from dramatiq.broker import Broker, MessageProxy
from dramatiq.common import current_millis

from store.text import text
from workers.transport.holdings import Holdings, Orphans
from workers.transport.keys import QueueKeys

log = structlog.get_logger(__name__)

# A command name dispatch.lua does not know: it beats, maintains and returns.
_NOOP = "maintain"


class Recovery(Middleware):
    def __init__(self, interval_ms: int, orphan_grace_ms: int) -> None:
        self.interval_ms = interval_ms
        self.orphan_grace_ms = orphan_grace_ms
        self._stops: dict[int, threading.Event] = {}

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        stop = threading.Event()
        self._stops[id(worker)] = stop
        consumed = sorted(worker.consumer_whitelist or broker.get_declared_queues())
        thread = threading.Thread(
            target=self._run,
            args=(broker, consumed, stop),
            name="subcycle-recovery",
            daemon=True,
        )
        thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        stop = self._stops.pop(id(worker), None)
        if stop is not None:
            stop.set()

    def after_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Leave as a dead worker would, at once: ``subcycle queues`` stops
        counting this one, and anything it still held is requeued by the
        next maintenance of any live worker (never by none: the heartbeat
        stays, only its time goes back)."""
        if self._stops:  # another Worker on this broker still runs and beats
            return
        try:
            retire(broker)
        except redis.RedisError as e:  # Redis away: the heartbeat simply times out
            log.warning("retire_failed", error=f"{type(e).__name__}: {e}")

    def _run(self, broker: Broker, consumed: list[str], stop: threading.Event) -> None:
        orphans = Orphans(self.orphan_grace_ms)
        while not stop.wait(self.interval_ms / 1000):
            try:
                maintain(broker, consumed)
                reclaim(broker, orphans)
            except Exception as e:  # Redis away: the worker reconnects; so do we
                log.warning("maintenance_failed", error=f"{type(e).__name__}: {e}")


# A queue's consumer entries older than this are dropped when it is beaten on.
_FORGET_CONSUMERS_MS = 3_600_000


def retire(broker: Any) -> None:
    """Date this broker's heartbeat back to the epoch: dead for every reader."""
    keys = QueueKeys(broker.namespace)
    with broker.client.pipeline(transaction=False) as pipe:
        pipe.zadd(keys.heartbeats, {broker.broker_id: 0})
        for queue in broker.get_declared_queues():
            pipe.zrem(keys.consumers(queue), broker.broker_id)
        pipe.execute()


def maintain(broker: Any, consumed: Sequence[str] = ()) -> None:
    """Beat, on each queue in ``consumed`` too, and requeue the messages of
    workers dead on every declared queue."""
    _beat_on(broker, consumed)
    queues = sorted(broker.get_declared_queues() | broker.delay_queues)
    dispatch = broker.scripts["dispatch"]
    for queue in queues:
        dispatch(
            keys=[broker.namespace],
            args=[
                _NOOP,
                current_millis(),
                queue,
                broker.broker_id,
                broker.heartbeat_timeout,
                broker.dead_message_ttl,
                1,
                broker._max_unpack_size(),
            ],
        )


def reclaim(broker: Any, orphans: Orphans) -> None:
    """Requeue the ids of this worker's ack sets it has not held for
    ``orphans.grace_ms`` (holdings.py), as Dramatiq requeues a message."""
    holdings: Holdings = broker.holdings
    keys = QueueKeys(broker.namespace)
    queues = sorted(broker.get_declared_queues() | broker.delay_queues)
    with broker.client.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.smembers(keys.acks(broker.broker_id, queue))
        members = pipe.execute()
    in_ack_sets = {q: [text(rid) for rid in rids] for q, rids in zip(queues, members, strict=True)}
    now = current_millis()
    for queue, rids in orphans.due(in_ack_sets, holdings.held(now), now).items():
        broker.do_requeue(queue, *rids)
        log.warning("orphans_requeued", queue=queue, messages=len(rids))


def _beat_on(broker: Any, consumed: Sequence[str]) -> None:
    keys = QueueKeys(broker.namespace)
    now = current_millis()
    with broker.client.pipeline(transaction=False) as pipe:
        for queue in consumed:
            pipe.zadd(keys.consumers(queue), {broker.broker_id: now})
            pipe.zremrangebyscore(keys.consumers(queue), "-inf", now - _FORGET_CONSUMERS_MS)
        pipe.execute()


# Replies of a server that cannot take writes now but will: a primary with
# too few replicas (min-replicas-to-write), one still loading its data, a
# replica that lost its primary, a primary being demoted.
_REFUSED_FOR_NOW = ("NOREPLICAS", "LOADING", "MASTERDOWN", "READONLY")


def redis_away(error: BaseException) -> bool:
    """An outage to wait out, not a fault of the message: the connection
    lost or timed out, or the server refusing writes for now."""
    if isinstance(error, redis.ConnectionError | redis.TimeoutError):
        return True
    if not isinstance(error, redis.ResponseError):
        return False
    said = str(error)
    # A pipeline's error names the command first: "Command # 1 (…) of pipeline caused error: …"
    said = said.rsplit("caused error: ", 1)[-1]
    return said.startswith(_REFUSED_FOR_NOW)


class RetryThroughOutage(Middleware):
    """A message whose handler failed because Redis went away runs again.

    Dramatiq's Retries middleware re-enqueues a failed message; when Redis is
    down (or refuses writes for now: ``redis_away``) that enqueue raises,
    Dramatiq logs it, and then acks the message as soon as Redis is back:
    the event is lost. Here, when no retry was
    enqueued for a failed message that was not dead-lettered, the enqueue is
    tried again until Redis answers, before the ack. Redelivery is harmless:
    every actor is idempotent.
    """

    def __init__(self, pause_s: float = 1.0, delay_ms: int = 1_000) -> None:
        self.pause_s = pause_s
        self.delay_ms = delay_ms
        self._local = threading.local()

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        self._local.message_id = message.message_id
        self._local.requeued = False

    def after_enqueue(self, broker: Broker, message: Any, delay: int | None) -> None:
        if getattr(self._local, "message_id", None) == message.message_id:
            self._local.requeued = True

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or message.failed or getattr(self._local, "requeued", True):
            return
        while True:
            try:
                broker.enqueue(message, delay=self.delay_ms)  # type: ignore[arg-type]  # as Retries does
            except redis.RedisError as e:
                if not redis_away(e):
                    raise
                log.warning("retry_waits_for_redis", error=str(e))
                time.sleep(self.pause_s)
                continue
            log.warning("retry_enqueued_after_outage")
            return

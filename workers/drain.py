"""Run workers in this process until the queues are settled, then stop.

Settled means: nothing ready on any queue, nothing in flight in this process,
and no delayed message (a retry, a reminder waiting for the morning) due
within ``horizon_s``. Delayed messages due later stay where they are.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message

from workers.middleware import tally_of


@dataclass(frozen=True)
class DrainReport:
    counts: Counter[str]
    seconds: float
    waiting_later: int


def drain(
    broker: RedisBroker,
    *,
    threads: int = 4,
    horizon_s: float = 30.0,
    timeout_s: float = 600.0,
    poll_s: float = 0.05,
) -> DrainReport:
    tally = tally_of(broker)
    before = Counter(tally.counts)
    started = time.monotonic()
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=50)
    worker.start()
    try:
        quiet = 0
        later = 0
        while time.monotonic() - started < timeout_s:
            busy, later = _busy(broker, horizon_s)
            quiet = quiet + 1 if not busy and tally.in_flight == 0 else 0
            if quiet >= 3:
                break
            time.sleep(poll_s)
    finally:
        worker.stop()
        # A stopped Worker leaves its middleware on the broker; the next
        # drain in this process would otherwise see it twice.
        broker.middleware[:] = [
            m for m in broker.middleware if getattr(m, "worker", None) is not worker
        ]
    counts = Counter(tally.counts)
    counts.subtract(before)
    counts["retried"] = counts.pop("failed", 0) - counts["dead_lettered"]
    return DrainReport(+counts, time.monotonic() - started, later)


def _busy(broker: RedisBroker, horizon_s: float) -> tuple[bool, int]:
    """Whether work is ready, fetched or due soon; and how many delayed wait longer."""
    client = broker.client
    ns = broker.namespace
    queues = sorted(broker.get_declared_queues())
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(f"{ns}:{queue}")
            pipe.llen(f"{ns}:{queue}.DQ")
            pipe.scard(f"{ns}:__acks__.{broker.broker_id}.{queue}")
            pipe.smembers(f"{ns}:__acks__.{broker.broker_id}.{queue}.DQ")
        answers = pipe.execute()
    deadline_ms = (time.time() + horizon_s) * 1000
    later = 0
    for i, queue in enumerate(queues):
        ready, delayed_ready, fetched, held = answers[4 * i : 4 * i + 4]
        if ready or delayed_ready or fetched:
            return True, later
        if held:
            for raw in client.hmget(f"{ns}:{queue}.DQ.msgs", list(held)):
                if raw is None:
                    continue
                eta = Message.decode(
                    raw if isinstance(raw, bytes) else str(raw).encode()
                ).options.get("eta", 0)
                if eta <= deadline_ms:
                    return True, later
                later += 1
    return False, later

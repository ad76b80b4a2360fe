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

from workers.middleware import tally_of
from workers.transport.broker import SubcycleBroker
from workers.transport.inspect import Inspector


@dataclass(frozen=True)
class DrainReport:
    counts: Counter[str]
    seconds: float
    waiting_later: int


def drain(
    broker: SubcycleBroker,
    *,
    threads: int = 4,
    horizon_s: float = 30.0,
    timeout_s: float = 600.0,
    poll_s: float = 0.05,
) -> DrainReport:
    tally = tally_of(broker)
    before = Counter(tally.counts)
    started = time.monotonic()
    inspector = Inspector(broker.client, broker.namespace)
    queues = broker.get_declared_queues()
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=50)
    worker.start()
    try:
        quiet = 0
        later = 0
        while time.monotonic() - started < timeout_s:
            busy, later = inspector.busy(broker.broker_id, queues, horizon_s * 1000)
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

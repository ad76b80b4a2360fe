"""Bare Dramatiq for bench/throughput.py: the stock RedisBroker and a no-op
actor, nothing of subcycle's. Loaded by the ``dramatiq`` CLI."""

from __future__ import annotations

import os
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

broker = RedisBroker(  # type: ignore[no-untyped-call]
    url=os.environ["BENCH_REDIS_URL"], namespace=os.environ["BENCH_NAMESPACE"]
)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="bench", actor_name="noop", max_retries=0)
def noop(*args: Any) -> None:
    """Does nothing: what is measured is Dramatiq itself."""

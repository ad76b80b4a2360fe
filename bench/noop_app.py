"""subcycle's broker (guarded consumer, every middleware) with a no-op actor,
for bench/throughput.py: separates the cost of the worker plumbing from the
cost of the handlers. Loaded by the ``dramatiq`` CLI."""

from __future__ import annotations

import os
from typing import Any

import dramatiq

from store.connection import connect
from workers.middleware import LogContext, Tally
from workers.transport.broker import BrokerSettings, build_broker
from workers.transport.poison import PoisonSink

broker = build_broker(
    connect(os.environ["BENCH_REDIS_URL"]),
    BrokerSettings(namespace=os.environ["BENCH_NAMESPACE"]),
    poison=PoisonSink(None, lambda: None),  # type: ignore[arg-type,return-value]
    middleware=[LogContext(), Tally()],
)


@dramatiq.actor(queue_name="bench", actor_name="noop", max_retries=0)
def noop(*args: Any) -> None:
    """Does nothing."""

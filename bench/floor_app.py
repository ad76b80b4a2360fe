"""The floor of any handler that records its event, for bench/throughput.py:
subcycle's broker and a no-op actor that writes one idempotency record per
message (one HSET, coalesced like the store's writes). No handler that keeps
SPEC section 10's promise can do less per event. Loaded by the ``dramatiq``
CLI."""

from __future__ import annotations

import os
from typing import Any

import dramatiq

from store.connection import connect
from workers.middleware import LogContext, Tally
from workers.transport.broker import BrokerSettings, build_broker
from workers.transport.coalesce import Coalescer
from workers.transport.poison import PoisonSink

client = connect(os.environ["BENCH_REDIS_URL"])
io = Coalescer(client)
namespace = os.environ["BENCH_NAMESPACE"]
broker = build_broker(
    client,
    BrokerSettings(namespace=namespace),
    poison=PoisonSink(None, lambda: None),  # type: ignore[arg-type,return-value]
    io=io,
    middleware=[LogContext(), Tally()],
)


@dramatiq.actor(queue_name="bench", actor_name="noop", max_retries=0)
def noop(event: dict[str, Any], *args: Any) -> None:
    """Records the event id as done, nothing else."""
    key = f"{namespace}:event:{event['event_id']}"
    io.run(lambda pipe: pipe.hset(key, mapping={"status": "done"}))

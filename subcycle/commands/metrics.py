"""``subcycle metrics``: the exporter of what Redis holds, for Prometheus.

Dramatiq's Prometheus middleware (on the workers, port 9191) exports what
workers do, not what waits. This exporter reads Redis on every scrape and
serves, on one port (``--port``, default ``$SUBCYCLE_METRICS_PORT`` or 9300):

- ``subcycle_queue_messages{queue, state}`` with state ready, delayed,
  in_progress, dead_lettered, refused;
- ``subcycle_queue_oldest_ready_age_seconds{queue}``;
- ``subcycle_workers_live`` and ``subcycle_queue_workers_live{queue}`` (the
  live workers consuming each queue);
- ``subcycle_scheduler_lease_held`` (1 while a scheduler replica holds the
  lease) and ``subcycle_scheduler_lease_holder_info{holder}`` (one series,
  only while held);
- ``subcycle_billing_last_closed_period_end_timestamp_seconds{period}``: the
  end (Unix time) of the latest month whose close completed;
- ``subcycle_billing_close_running_period_end_timestamp_seconds{period}`` and
  ``subcycle_billing_close_shards{period, state}`` (state done, total): the
  oldest close still running, absent when none runs.

Every series with a ``period`` label has one series at a time, so the label
stays bounded; deploy/prometheus/alerts.yml is written against these names.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from subcycle.bootstrap import Core
from subcycle.commands.common import UsageError, add_redis_option, open_core
from subcycle.status import (
    lease_status,
    live_workers,
    month_end_status,
    period_end,
    queue_depths,
)

DEFAULT_PORT = 9300
STATES = ("ready", "delayed", "in_progress", "dead_lettered", "refused")


def register(sub: Any) -> None:
    p = sub.add_parser("metrics", help="serve queues, lease and closes to Prometheus")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")  # noqa: S104
    p.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("SUBCYCLE_METRICS_PORT", DEFAULT_PORT)),
        help=f"port to listen on (default $SUBCYCLE_METRICS_PORT or {DEFAULT_PORT})",
    )
    p.add_argument("--once", action="store_true", help="print one scrape to stdout and exit")
    add_redis_option(p)
    p.set_defaults(run=run)


class QueueDepthCollector:
    """A prometheus-client collector that reads Redis when scraped."""

    def __init__(self, app: Core) -> None:
        self._app = app

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        rows = queue_depths(self._app)
        messages = GaugeMetricFamily(
            "subcycle_queue_messages", "Messages per queue and state.", labels=["queue", "state"]
        )
        age = GaugeMetricFamily(
            "subcycle_queue_oldest_ready_age_seconds",
            "Age of the oldest ready message per queue (0 when none is ready).",
            labels=["queue"],
        )
        consumers = GaugeMetricFamily(
            "subcycle_queue_workers_live",
            "Live workers consuming the queue.",
            labels=["queue"],
        )
        for row in rows:
            for state in STATES:
                messages.add_metric([row.queue, state], getattr(row, state))
            age.add_metric([row.queue], row.oldest_ready_age_s or 0.0)
            consumers.add_metric([row.queue], row.workers)
        yield messages
        yield age
        yield consumers
        yield GaugeMetricFamily(
            "subcycle_workers_live",
            "Workers that beat within the heartbeat timeout.",
            value=live_workers(self._app),
        )


class SchedulerAndBillingCollector:
    """The scheduler's lease and the month-end closes, read when scraped."""

    def __init__(self, app: Core) -> None:
        self._app = app

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        lease = lease_status(self._app.client, self._app.store.keys)
        yield GaugeMetricFamily(
            "subcycle_scheduler_lease_held",
            "1 while a scheduler replica holds the lease, else 0.",
            value=1 if lease.held else 0,
        )
        holder = GaugeMetricFamily(
            "subcycle_scheduler_lease_holder_info",
            "The replica holding the scheduler lease (one series, only while held).",
            labels=["holder"],
        )
        if lease.holder is not None:
            holder.add_metric([lease.holder], 1)
        yield holder

        month_end = month_end_status(self._app.store.billing)
        last = GaugeMetricFamily(
            "subcycle_billing_last_closed_period_end_timestamp_seconds",
            "End (Unix time) of the latest month whose close completed.",
            labels=["period"],
        )
        if month_end.last_closed is not None:
            last.add_metric([month_end.last_closed], period_end(month_end.last_closed).timestamp())
        yield last
        running_end = GaugeMetricFamily(
            "subcycle_billing_close_running_period_end_timestamp_seconds",
            "End (Unix time) of the month of the oldest close still running.",
            labels=["period"],
        )
        shards = GaugeMetricFamily(
            "subcycle_billing_close_shards",
            "Shards of the oldest close still running: done and total.",
            labels=["period", "state"],
        )
        running = month_end.running
        if running is not None:
            running_end.add_metric([running.period], period_end(running.period).timestamp())
            shards.add_metric([running.period, "done"], running.done)
            shards.add_metric([running.period, "total"], running.total)
        yield running_end
        yield shards


def registry_for(app: Core) -> Any:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueDepthCollector(app))
    registry.register(SchedulerAndBillingCollector(app))
    return registry


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise UsageError("--port: must be between 1 and 65535")
    app = open_core(args)
    from prometheus_client import generate_latest, start_http_server

    registry = registry_for(app)
    if args.once:
        sys.stdout.write(generate_latest(registry).decode())
        return 0
    start_http_server(args.port, addr=args.host, registry=registry)
    sys.stderr.write(f"subcycle metrics: serving metrics on http://{args.host}:{args.port}/\n")
    threading.Event().wait()  # serve until the process is stopped
    return 0

"""``subcycle metrics``: the queue-depth exporter for Prometheus.

Dramatiq's Prometheus middleware (on the workers, port 9191) exports what
workers do, not what waits. This exporter reads Redis on every scrape and
serves, on one port (``--port``, default ``$SUBCYCLE_METRICS_PORT`` or 9300):

- ``subcycle_queue_messages{queue, state}`` with state ready, delayed,
  in_progress, dead_lettered, refused;
- ``subcycle_queue_oldest_ready_age_seconds{queue}``;
- ``subcycle_workers_live``.
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
from subcycle.commands.queues import depths

DEFAULT_PORT = 9300
STATES = ("ready", "delayed", "in_progress", "dead_lettered", "refused")


def register(sub: Any) -> None:
    p = sub.add_parser("metrics", help="serve queue depth for Prometheus on one port")
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

        rows = depths(self._app)
        messages = GaugeMetricFamily(
            "subcycle_queue_messages", "Messages per queue and state.", labels=["queue", "state"]
        )
        age = GaugeMetricFamily(
            "subcycle_queue_oldest_ready_age_seconds",
            "Age of the oldest ready message per queue (0 when none is ready).",
            labels=["queue"],
        )
        for row in rows:
            for state in STATES:
                messages.add_metric([row.queue, state], getattr(row, state))
            age.add_metric([row.queue], row.oldest_ready_age_s or 0.0)
        yield messages
        yield age
        yield GaugeMetricFamily(
            "subcycle_workers_live",
            "Workers that beat within the heartbeat timeout.",
            value=rows[0].workers if rows else 0,
        )


def registry_for(app: Core) -> Any:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueDepthCollector(app))
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
    sys.stderr.write(f"subcycle metrics: serving queue depth on http://{args.host}:{args.port}/\n")
    threading.Event().wait()  # serve until the process is stopped
    return 0

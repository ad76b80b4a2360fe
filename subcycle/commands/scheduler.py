"""``subcycle scheduler``: the APScheduler process that emits the ticks. Run
two for availability: one holds the lease, the other waits to take over."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import threading
import uuid
from typing import Any

from scheduler.lease import Lease
from scheduler.service import SchedulerService
from subcycle.commands.common import add_redis_option, open_core
from subcycle.commands.tick import ticker_for


def register(sub: Any) -> None:
    p = sub.add_parser("scheduler", help="run the scheduler that emits the ticks")
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    app = open_core(args, guarded=True)
    settings = app.settings
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    lease = Lease(
        app.client, app.store.keys.scheduler_lease, holder, settings.scheduler_lease_ttl_ms
    )
    service = SchedulerService(
        ticker_for(app),
        lease,
        misfire_grace_s=settings.scheduler_misfire_grace_s,
        interval_s=settings.scheduler_interval_s,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    try:
        stop.wait()
    finally:
        service.stop()
    return 0

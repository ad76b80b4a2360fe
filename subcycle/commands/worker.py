"""``subcycle worker``: real Dramatiq worker processes (the ``dramatiq`` CLI
on our broker module), after checking Redis answers."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from events import Queue
from subcycle.commands.common import add_redis_option, open_app


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run the Dramatiq workers")
    p.add_argument(
        "--queues",
        nargs="+",
        choices=[q.value for q in Queue],
        metavar="QUEUE",
        help="queues to consume (default: all): " + ", ".join(q.value for q in Queue),
    )
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--shutdown-timeout-ms", type=int, default=30_000)
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    app = open_app(args)  # fails clearly now rather than in every child
    env = dict(os.environ)
    env["SUBCYCLE_REDIS_URL"] = app.settings.redis_url
    env.setdefault("dramatiq_worker_timeout", str(app.settings.worker_timeout_ms))
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "subcycle.worker_app",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
        "--worker-shutdown-timeout",
        str(args.shutdown_timeout_ms),
        "--skip-logging",
    ]
    if args.queues:
        argv += ["--queues", *args.queues]
    os.execve(sys.executable, argv, env)

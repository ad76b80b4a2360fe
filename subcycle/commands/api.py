"""``subcycle api [--host H] [--port P] [--workers N]``: the HTTP API and the
operator console, on uvicorn. Production checks first (exit 2 naming the
variable); SIGTERM finishes the requests in flight, then stops."""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

from subcycle.commands.common import UsageError, add_redis_option, open_core

GRACE_S = 30


def register(sub: Any) -> None:
    p = sub.add_parser("api", help="serve the HTTP API and the operator console")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    add_redis_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise UsageError("--port: must be between 1 and 65535")
    if not 1 <= args.workers <= 64:
        raise UsageError("--workers: must be between 1 and 64")
    opened = open_core(args, guarded=True)  # a clear error now, not in every worker
    os.environ["SUBCYCLE_REDIS_URL"] = opened.settings.redis_url
    if args.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="subcycle-api-metrics-")
    import uvicorn

    uvicorn.run(
        "subcycle.serve:app_factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,  # our structured logs (subcycle/logs.py), set in each worker
        access_log=False,  # one line per request of our own (api/observe.py), without the query
        timeout_graceful_shutdown=GRACE_S,
        server_header=False,
        proxy_headers=False,
    )
    return 0

"""``subcycle worker``: real Dramatiq worker processes (the ``dramatiq`` CLI
on our broker module), after checking Redis answers."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from events import Queue
from subcycle.commands.common import CommandFailed, add_redis_option, open_core
from subcycle.otp_config import otp_policy
from subcycle.settings import Settings
from workers.otp import OtpNotConfigured


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
    app = open_core(args, guarded=True)  # fails clearly now rather than in every child
    env = dict(os.environ)
    env["SUBCYCLE_REDIS_URL"] = app.settings.redis_url
    queues = _otp_checked(app.settings, args.queues)
    # Idle consumers back off up to this between polls: a group that serves
    # verification codes polls fast (docs/otp.md), the others stay cheap.
    timeout = app.settings.worker_timeout_ms
    if queues is None or Queue.OTP.value in queues:
        timeout = min(timeout, app.settings.otp_worker_timeout_ms)
    env.setdefault("dramatiq_worker_timeout", str(timeout))
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
    if queues is not None:
        argv += ["--queues", *queues]
    os.execve(sys.executable, argv, env)


def _otp_checked(settings: Settings, asked: list[str] | None) -> list[str] | None:
    """No OTP work without the server secret: refuse when asked for the otp
    queue by name; leave it unconsumed (requests wait, then go stale) when
    running every queue, so the rest of the system still runs."""
    if otp_policy(settings).secret_ok:
        return asked
    if asked is not None and Queue.OTP.value in asked:
        raise CommandFailed(str(OtpNotConfigured()))
    if asked is not None:
        return asked
    sys.stderr.write(f"subcycle worker: {OtpNotConfigured()}; not consuming the otp queue\n")
    return [q.value for q in Queue if q is not Queue.OTP]

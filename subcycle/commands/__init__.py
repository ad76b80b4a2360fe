"""One module per command; each has ``register(subparsers)``."""

from __future__ import annotations

from subcycle import demo
from subcycle.commands import (
    dead_letters,
    drain,
    license,
    metrics,
    otp,
    publish,
    queues,
    schema,
    worker,
)

COMMANDS = [demo, publish, worker, drain, license, schema, otp]
COMMANDS += [queues, dead_letters, metrics]  # operators

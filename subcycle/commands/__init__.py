"""One module per command; each has ``register(subparsers)``."""

from __future__ import annotations

from subcycle import demo
from subcycle.commands import drain, license, publish, schema, worker

COMMANDS = [demo, publish, worker, drain, license, schema]

"""One module per command; each has ``register(subparsers)``."""

from __future__ import annotations

from subcycle import demo
from subcycle.commands import (
    api,
    api_keys,
    charges,
    dead_letters,
    drain,
    import_,
    license,
    metrics,
    migrate,
    otp,
    outbox,
    publish,
    queues,
    scheduler,
    schema,
    tick,
    worker,
)

COMMANDS = [demo, publish, import_, worker, drain, license, schema, otp]
COMMANDS += [queues, dead_letters, metrics]  # operators
COMMANDS += [charges, scheduler, tick]  # month-end billing and the ticks
COMMANDS += [outbox]  # messages the outbox gateway delivered (development)
COMMANDS += [api, api_keys]  # the HTTP API and the console, and their keys
COMMANDS += [migrate]  # the store's layout (docs/capacity.md)

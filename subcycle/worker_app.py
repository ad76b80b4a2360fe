"""The module the ``dramatiq`` CLI imports in each worker process: settings
from the environment, the broker and every actor declared on it."""

from __future__ import annotations

import sys

from dramatiq.middleware.prometheus import Prometheus

from store.connection import BadRedisUrl, connect
from subcycle import logs
from subcycle.bootstrap import codes, core, publisher, workers
from subcycle.preflight import NotReady, require_ready
from subcycle.settings import Settings
from workers.transport.coalesce import Coalescer

_settings = Settings()
logs.configure(_settings.log_format, _settings.log_level)
try:
    require_ready(_settings)
except NotReady as e:  # `subcycle worker` says so before it gets here
    sys.stderr.write("subcycle worker: error: " + "\n  ".join(e.problems) + "\n")
    raise SystemExit(2) from None
try:
    _client = connect(_settings.redis_url)
except BadRedisUrl as e:
    sys.stderr.write(f"subcycle worker: error: SUBCYCLE_REDIS_URL: {e}\n")
    raise SystemExit(2) from None
_core = core(_settings, client=_client, io=Coalescer(_client))
broker = workers(_core, publisher(_core), codes(_core)).broker
# Dramatiq's metrics, served on $dramatiq_prom_port (9191) by a forked process;
# our own counters join them there (workers/metrics.py).
broker.add_middleware(Prometheus())

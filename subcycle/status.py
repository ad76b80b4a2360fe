"""What operators watch: the queues and their live workers, the scheduler's
lease and the month-end closes, read from Redis when asked (the exporter asks on every
scrape, so an alert sees what is true now, not what a process last said).

Times are instants: a billing month ends at 00:00 JST on the next month's
1st, which is what the alert on a late close compares with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis

from scheduler.lease import holder_of
from store.billing import CloseStatus, RedisBilling
from store.calendar import next_period, period_start
from store.keys import Keys
from subcycle.bootstrap import Core
from workers import operations
from workers.transport.inspect import Inspector, QueueDepth


def queue_depths(core: Core) -> list[QueueDepth]:
    """Every queue's depths and live workers (the CLI, the API, the console
    and the exporter all show these)."""
    return operations.queue_depths(
        core.client,
        core.settings.queue_namespace,
        core.store.refusals,
        heartbeat_timeout_ms=core.settings.heartbeat_timeout_ms,
    )


def live_workers(core: Core) -> int:
    """Workers that beat within the heartbeat timeout, whatever they consume."""
    inspector = Inspector(core.client, core.settings.queue_namespace)
    return len(inspector.workers(core.settings.heartbeat_timeout_ms))


@dataclass(frozen=True)
class LeaseStatus:
    holder: str | None  # the active scheduler replica; None while none holds it

    @property
    def held(self) -> bool:
        return self.holder is not None


@dataclass(frozen=True)
class MonthEndStatus:
    last_closed: str | None  # the latest month whose close completed
    running: CloseStatus | None  # the oldest close still running, if any


def period_end(period: str) -> datetime:
    """The instant a billing month ends: 00:00 JST on the next month's 1st."""
    return period_start(next_period(period))


def lease_status(client: redis.Redis, keys: Keys) -> LeaseStatus:
    return LeaseStatus(holder_of(client, keys.scheduler_lease))


def month_end_status(billing: RedisBilling) -> MonthEndStatus:
    """Every started close is looked at (one a month): a catch-up close of an
    older month can still run after a newer one completed, and it is the one
    that holds that month's ledger back."""
    statuses = [billing.status(p) for p in billing.started_periods()]
    closed = [s.period for s in statuses if s is not None and s.state == "closed"]
    running = [s for s in statuses if s is not None and s.state != "closed"]
    return MonthEndStatus(
        last_closed=closed[-1] if closed else None,
        running=running[0] if running else None,
    )

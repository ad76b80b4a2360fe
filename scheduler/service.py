"""The scheduler process: APScheduler 3.11 jobs that only enqueue ticks, run
by whichever replica holds the lease.

Every trigger and the scheduler itself carry ``ZoneInfo("Asia/Tokyo")``; jobs
coalesce, never overlap and may start hours late (TRAPS: the default grace of
one second silently skips a late job). The in-memory job store forgets missed
runs, so catching up is ours: on start and on taking over the lease, the
replica sends every month-end it missed and the latest expiry tick.
"""

from __future__ import annotations

import threading
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import redis
import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.lease import Lease
from scheduler.ticks import Ticker

log = structlog.get_logger(__name__)

TOKYO = ZoneInfo("Asia/Tokyo")


class SchedulerService:
    def __init__(
        self,
        ticker: Ticker,
        lease: Lease,
        *,
        misfire_grace_s: int = 6 * 3600,
        interval_s: float | None = None,
    ) -> None:
        self.ticker = ticker
        self.lease = lease
        self.active = False
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            timezone=TOKYO,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": misfire_grace_s,
            },
        )
        at: time = ticker.expiry_at
        expiry: Any = CronTrigger(hour=at.hour, minute=at.minute, timezone=TOKYO)
        month_end: Any = CronTrigger(day=1, hour=0, minute=0, timezone=TOKYO)
        if interval_s is not None:  # tests and development: a fast trigger
            expiry = month_end = IntervalTrigger(seconds=interval_s, timezone=TOKYO)
        renew_s = max(lease.ttl_ms / 3000, 0.1)
        self._scheduler.add_job(
            self.keep_lease,
            IntervalTrigger(seconds=renew_s, timezone=TOKYO),
            id="lease",
            next_run_time=datetime.now(TOKYO),
        )
        self._scheduler.add_job(self.expiry_job, expiry, id="expiry")
        self._scheduler.add_job(self.month_end_job, month_end, id="month_end")

    def start(self) -> None:
        self._scheduler.start()
        log.info("scheduler_started", holder=self.lease.holder, ttl_ms=self.lease.ttl_ms)

    def stop(self) -> None:
        self._scheduler.shutdown(wait=True)
        if self.active:
            self.lease.release()
        log.info("scheduler_stopped", holder=self.lease.holder)

    def keep_lease(self) -> None:
        """Renew (or try to take) the lease; catch up on becoming active."""
        with self._lock:
            held = self._hold()
            if held and not self.active:
                self.active = True
                log.info("scheduler_active", holder=self.lease.holder)
                self.ticker.catch_up()
            elif not held and self.active:
                self.active = False
                log.info("scheduler_standby", holder=self.lease.holder)

    def expiry_job(self) -> None:
        with self._lock:
            if self.active and self._hold():
                self.ticker.expiry()

    def month_end_job(self) -> None:
        with self._lock:
            if self.active and self._hold():
                self.ticker.month_end()

    def _hold(self) -> bool:
        try:
            return self.lease.hold()
        except (redis.ConnectionError, redis.TimeoutError) as e:
            # Unsure whether we still hold it: act as standby until Redis answers.
            log.warning("lease_unreachable", error=str(e))
            return False

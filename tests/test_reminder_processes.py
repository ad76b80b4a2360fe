"""A real ``subcycle scheduler`` process (APScheduler on a fast trigger) runs
the daily expiry job, and real ``subcycle worker`` processes deliver the
reminder into the outbox, all against one real Redis.

Process-spawning: marked ``slow`` (about 5 s)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import redis

from events import JST
from store.calendar import term_expires_on
from store.keys import Keys
from subcycle.bootstrap import build
from subcycle.settings import Settings
from tests.conftest import REAL_REDIS_URL
from tests.processes import env_for, wait_for
from tests.support import purchase
from workers.gateway.outbox import OutboxGateway
from workers.handlers.lifecycle import record_purchase

pytestmark = pytest.mark.slow


def start(unique: str, log: Path, *command: str) -> subprocess.Popen[bytes]:
    env = os.environ | env_for(
        unique,
        REAL_REDIS_URL,
        subcycle_scheduler_interval_s="0.5",
        # The scheduler's ticks carry the real clock: let the test pass at any hour.
        subcycle_reminder_daytime="00:00-24:00",
    )
    env["dramatiq_worker_timeout"] = "100"
    return subprocess.Popen(
        [sys.executable, "-m", "subcycle.cli", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,  # the worker command forks: stop the whole group
    )


def test_the_scheduler_process_runs_the_daily_job_and_workers_deliver_the_reminder(
    real_redis: redis.Redis, unique: str, tmp_path: Path
) -> None:
    client = real_redis
    starts_on, expires_on = term_ending_in_about_20_days()
    settings = Settings(key_prefix=f"t{unique}:", queue_namespace=f"tq{unique}")
    app = build(settings, client=client)
    record_purchase(purchase("A1", plan="annual", starts_on=starts_on.isoformat()), app.deps)

    outbox = OutboxGateway(client, Keys(f"t{unique}:"))
    worker = start(unique, tmp_path / "worker.log", "worker", "--processes", "1", "--threads", "2")
    scheduler = start(unique, tmp_path / "scheduler.log", "scheduler")
    try:
        wait_for(lambda: len(outbox.messages()) > 0, 30.0)
        time.sleep(1.5)  # several more fast ticks: still one reminder
        [message] = outbox.messages()
        assert message["kind"] == "renewal_reminder"
        assert message["message_id"] == f"reminder:A1:{expires_on.isoformat()}:30"
    finally:
        for proc in (scheduler, worker):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)


def term_ending_in_about_20_days() -> tuple[date, date]:
    """A 1-year term inside the 30-day window whatever the hour (and not on 29 February)."""
    today = datetime.now(JST).date()
    for days in (20, 21, 22):
        expires_on = today + timedelta(days=days)
        try:
            starts_on = (expires_on + timedelta(days=1)).replace(year=expires_on.year - 1)
        except ValueError:
            continue
        if term_expires_on(starts_on, 1) == expires_on:
            return starts_on, expires_on
    raise AssertionError("no plain term found")

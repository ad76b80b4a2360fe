"""Two real ``subcycle scheduler`` processes against one real Redis, each with
a real APScheduler on a fast trigger: each month-end is enqueued once.

Process-spawning: marked ``slow`` (about 6 s)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import redis
from dramatiq import Message

from events import JST
from scheduler.ticks import previous_period
from store.calendar import period_from_index, period_index
from tests import processes
from tests.conftest import REAL_REDIS_URL
from tests.processes import env_for

pytestmark = pytest.mark.slow


def start_scheduler(unique: str, first_period: str, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | env_for(
        unique,
        REAL_REDIS_URL,
        subcycle_scheduler_interval_s="0.2",
        subcycle_scheduler_lease_ttl_ms="1000",
        subcycle_scheduler_first_period=first_period,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "subcycle.cli", "scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def month_ends(client: redis.Redis, unique: str) -> list[str]:
    ids = client.lrange(f"tq{unique}:billing", 0, -1)
    bodies = client.hmget(f"tq{unique}:billing.msgs", ids) if ids else []
    return [Message.decode(body).args[0]["event_id"] for body in bodies]


def log_events(log: Path) -> list[dict[str, object]]:
    lines = log.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def wait_for(check: Callable[[], bool]) -> None:
    processes.wait_for(check, 10.0)


def test_two_scheduler_processes_enqueue_each_month_end_once(
    real_redis: redis.Redis, unique: str, tmp_path: Path
) -> None:
    client = real_redis
    newest = period_index(previous_period(datetime.now(JST)))
    expected = [f"month-end:{period_from_index(i)}" for i in range(newest - 2, newest + 1)]
    first = expected[0].removeprefix("month-end:")
    lease_key = f"t{unique}:scheduler:lease"
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"

    a = start_scheduler(unique, first, log_a)
    b = None
    try:
        wait_for(lambda: client.get(lease_key) is not None)
        b = start_scheduler(unique, first, log_b)
        wait_for(lambda: any(e["event"] == "scheduler_started" for e in log_events(log_b)))
        time.sleep(1.0)  # several fast ticks on both replicas
        assert month_ends(client, unique) == expected
        assert not [e for e in log_events(log_b) if e["event"] == "month_end_tick"]

        a.send_signal(signal.SIGKILL)  # no clean release: the lease must lapse
        a.wait()
        wait_for(lambda: any(e["event"] == "scheduler_active" for e in log_events(log_b)))
        time.sleep(0.6)
        assert month_ends(client, unique) == expected
        took_over = [e for e in log_events(log_b) if e["event"] == "month_end_tick"]
        assert took_over
        assert all(e["enqueued"] == 0 for e in took_over)
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)
    assert b is not None
    assert b.returncode == 0

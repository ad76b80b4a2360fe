"""Faults, with real processes: a worker SIGKILLed mid-run, and a Redis (AOF,
fsync always) crashed and restarted mid-run. CI-sized; the long version is
``bench/kill_worker.py``."""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

import pytest
import redis

from store.connection import connect
from subcycle.bootstrap import App, build
from subcycle.settings import Settings
from tests.conftest import REAL_REDIS_URL
from tests.processes import (
    OwnRedis,
    env_for,
    free_port,
    kill_group,
    start_scheduler,
    start_worker,
    stop,
    wait_for,
)
from tests.support import purchase
from workers.transport.keys import QueueKeys

pytestmark = pytest.mark.slow

HEARTBEAT_MS = 2_000
# The bound docs/operations.md states: heartbeat timeout + maintenance interval.
BOUND_S = HEARTBEAT_MS / 1000 + 0.2
SLACK_S = 1.5  # process scheduling on a shared 2-core machine
_ids = itertools.count()


def env_of(url: str, unique: str) -> dict[str, str]:
    return env_for(
        unique,
        url,
        subcycle_heartbeat_timeout_ms=str(HEARTBEAT_MS),
        subcycle_log_level="WARNING",
    )


def app_for(env: dict[str, str]) -> App:
    settings = Settings(
        redis_url=env["SUBCYCLE_REDIS_URL"],
        key_prefix=env["SUBCYCLE_KEY_PREFIX"],
        queue_namespace=env["SUBCYCLE_QUEUE_NAMESPACE"],
        heartbeat_timeout_ms=HEARTBEAT_MS,
    )
    return build(settings, client=connect(settings.redis_url))


def purchases(n: int, tag: str) -> list[object]:
    return [purchase(f"{tag}{i}", event_id=f"{tag}-buy-{i}") for i in range(n)]


def workers_beating(app: App) -> list[str]:
    raw = app.client.zrange(f"{app.broker.namespace}:__heartbeats__", 0, -1)
    return [r.decode() for r in raw]  # type: ignore[union-attr]


def recorded(app: App, tag: str, n: int) -> list[str]:
    """Subscriptions of this run that exist, each checked to hold one purchase."""
    found = []
    for i in range(n):
        sub = app.store.subscriptions.get(f"{tag}{i}")
        if sub is not None:
            assert len(sub.history) == 1, f"{tag}{i} has {len(sub.history)} history entries"
            found.append(f"{tag}{i}")
    return found


@pytest.fixture
def real_env(unique: str, real_redis: redis.Redis) -> dict[str, str]:
    return env_of(REAL_REDIS_URL, unique)


def test_a_sigkilled_workers_messages_are_redelivered_within_the_bound(
    real_env: dict[str, str], tmp_path: Path
) -> None:
    app = app_for(real_env)
    victim = start_worker(real_env, log=tmp_path / "victim.log")
    survivor = None
    try:
        wait_for(lambda: len(workers_beating(app)) == 1, 30)
        [victim_id] = workers_beating(app)
        survivor = start_worker(real_env, log=tmp_path / "survivor.log")
        wait_for(lambda: len(workers_beating(app)) == 2, 30)
        n = 3_000
        app.publisher.publish(purchases(n, "K"))  # type: ignore[arg-type]
        held = f"{app.broker.namespace}:__acks__.{victim_id}.lifecycle"
        wait_for(lambda: app.client.scard(held) > 0, 30, poll=0.002)

        os.killpg(victim.pid, signal.SIGSTOP)  # frozen: what it holds stays put
        frozen_at = time.monotonic()
        assert app.client.scard(held) > 0, "the victim held no message when it was killed"
        kill_group(victim)

        wait_for(lambda: not app.client.exists(held), BOUND_S + SLACK_S + 5)
        redelivered_after = time.monotonic() - frozen_at
        wait_for(lambda: len(recorded(app, "K", n)) == n, 120, poll=0.5)
    finally:
        stop(victim)
        if survivor is not None:
            stop(survivor)
    assert redelivered_after <= BOUND_S + SLACK_S
    assert len(recorded(app, "K", n)) == n


# A live worker's own orphans: seen within an interval, given back after a
# heartbeat timeout, at the next tick (workers/transport/recovery.py).
ORPHAN_BOUND_S = HEARTBEAT_MS / 1000 + 0.4


def test_a_message_in_a_live_workers_ack_set_that_it_never_received_takes_effect(
    real_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a live worker, and a purchase whose id sits in that worker's ack
    # set although the worker never received it (a fetch reply lost with the
    # connection; after a failover, a fetch the replica had and the ack it had not)
    app = app_for(real_env)
    keys = QueueKeys(app.broker.namespace)
    worker = start_worker(real_env, log=tmp_path / "worker.log")
    try:
        wait_for(lambda: len(workers_beating(app)) == 1, 30)
        [worker_id] = workers_beating(app)
        os.killpg(worker.pid, signal.SIGSTOP)  # a moment: nothing fetches it first
        try:
            app.publisher.publish([purchase("O0", event_id="O-buy-0")])  # type: ignore[list-item]
            [rid] = app.client.lrange(keys.ready("lifecycle"), 0, -1)  # type: ignore[misc]
            app.client.lrem(keys.ready("lifecycle"), 1, rid)
            app.client.sadd(keys.acks(worker_id, "lifecycle"), rid)
            placed = time.monotonic()
        finally:
            os.killpg(worker.pid, signal.SIGCONT)
        # Then the worker gives it back and it takes effect, the worker alive
        # all along (maintenance requeues only a dead worker's messages)
        wait_for(lambda: recorded(app, "O", 1) == ["O0"], ORPHAN_BOUND_S + SLACK_S + 10)
        given_back_after = time.monotonic() - placed
        beat = app.client.zscore(keys.heartbeats, worker_id)
        assert beat is not None
        assert beat > time.time() * 1000 - HEARTBEAT_MS
    finally:
        stop(worker)
    assert given_back_after <= ORPHAN_BOUND_S + SLACK_S


def test_workers_and_scheduler_reconnect_after_a_redis_crash_and_no_committed_state_is_lost(
    tmp_path: Path, unique: str
) -> None:
    own = OwnRedis(tmp_path, free_port())
    own.start()
    env = env_of(own.url, unique) | {"SUBCYCLE_SCHEDULER_LEASE_TTL_MS": "1000"}
    app = app_for(env)
    lease = f"{env['SUBCYCLE_KEY_PREFIX']}scheduler:lease"
    worker = start_worker(env, log=tmp_path / "worker.log")
    scheduler = start_scheduler(env, log=tmp_path / "scheduler.log")
    try:
        wait_for(lambda: len(workers_beating(app)) == 1, 30)
        wait_for(lambda: bool(app.client.exists(lease)), 30)
        n = 800
        app.publisher.publish(purchases(n, "A"))  # type: ignore[arg-type]
        wait_for(lambda: len(recorded(app, "A", n)) >= n // 4, 60, poll=0.02)
        own.crash()
        own.start()
        app.client.connection_pool.disconnect()  # this test's own pooled sockets died with it
        committed = recorded(app, "A", n)  # what the AOF kept: all of it must stay

        app.publisher.publish(purchases(n, "B"))  # type: ignore[arg-type]
        wait_for(lambda: len(recorded(app, "B", n)) == n, 90, poll=0.5)
        wait_for(lambda: len(recorded(app, "A", n)) == n, 60, poll=0.5)
        assert set(committed) <= set(recorded(app, "A", n))
        # The scheduler renews its lease on the new server: taken away, it is
        # back within a renewal or two.
        app.client.delete(lease)
        wait_for(lambda: bool(app.client.exists(lease)), 15)
    finally:
        stop(worker)
        stop(scheduler)
        own.crash()

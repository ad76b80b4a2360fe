"""A Sentinel failover under load: the scenario behind ``bench/failover.py``
and ``tests/test_failover.py``.

Two ``subcycle worker`` processes, two ``subcycle scheduler`` replicas (one
active by its lease) and a publisher (this process) all run against
``redis+sentinel://…/mymaster/0`` (tests/sentinel_support.py). While the
purchases of a mixed run (tests/mixed_run.py) are being published in
batches, the primary is SIGKILLed. Nothing is restarted but the dead
server, once the replica has been promoted (so that, with
``SUBCYCLE_DURABILITY=replica``, there is a replica to confirm again),
empty and not electable until it has synced (``Sentinels.bring_back_empty``).
A batch whose publish failed is published again (its events are safe to
republish); then every effect of the run is counted against the events,
each of which was acknowledged in the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from events import Event
from store.connection import connect
from subcycle.bootstrap import App, build
from subcycle.settings import Settings
from tests.mixed_run import ENV, Effects, Mix, closed, count_effects, settled, unsettled
from tests.processes import end, free_port, wait_for
from tests.sentinel_support import Sentinels
from workers.transport.keys import QueueKeys

BATCH = 200


@dataclass
class Figures:
    events: int = 0
    durability: str = "memory"
    batches: int = 0
    failed_publishes: int = 0
    promoted_s: float = 0.0
    no_service_s: float = 0.0
    first_failure_s: float | None = None
    last_failure_s: float | None = None
    old_primary_back_s: float = 0.0
    lease_holders_after: int = 0
    lease_renewed_after: bool = False
    consumed_after: int = 0
    settled_s: float = 0.0
    effects: Effects = field(default_factory=Effects)
    failures: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        failing = (
            f"publishes failed from {self.first_failure_s:.2f}s to {self.last_failure_s:.2f}s"
            if self.first_failure_s is not None and self.last_failure_s is not None
            else "no publish failed"
        )
        return [
            f"events published: {self.events} (SUBCYCLE_DURABILITY={self.durability})",
            f"primary SIGKILLed; replica promoted {self.promoted_s:.2f}s after the kill",
            f"time without service (kill to the next acknowledged publish): "
            f"{self.no_service_s:.2f}s; {failing} after the kill; "
            f"{self.failed_publishes} failed publish attempts (of {self.batches} batches), "
            "each batch republished until acknowledged",
            (
                f"old primary back as a replica {self.old_primary_back_s:.1f}s after the kill"
                if self.old_primary_back_s
                else "old primary left dead"
            ),
            f"scheduler lease after the failover: {self.lease_holders_after} holder, "
            f"renewed on the new primary: {self.lease_renewed_after}",
            f"messages done after the promotion: {self.consumed_after}",
            f"all settled {self.settled_s:.1f}s after the first publish",
            *self.effects.lines,
        ]


def run(
    mix: Mix,
    directory: Path,
    *,
    durability: str | None = None,
    restart_old_primary: bool = True,
    server_options: tuple[str, ...] = (),
    threads: int = 8,
) -> Figures:
    figures = Figures(durability=durability or "memory")
    unique = uuid.uuid4().hex[:8]
    with Sentinels(directory).start(*server_options) as cluster:
        env = {
            **os.environ,
            **ENV,
            "SUBCYCLE_ENV": "development",
            "SUBCYCLE_REDIS_URL": cluster.url,
            "SUBCYCLE_KEY_PREFIX": f"fo{unique}:",
            "SUBCYCLE_QUEUE_NAMESPACE": f"foq{unique}",
            "SUBCYCLE_HEARTBEAT_TIMEOUT_MS": "5000",
            "SUBCYCLE_SCHEDULER_LEASE_TTL_MS": "3000",
            "SUBCYCLE_LOG_LEVEL": "WARNING",
            "SUBCYCLE_LOG_FORMAT": "json",
        }
        if durability is not None:
            env["SUBCYCLE_DURABILITY"] = durability
        # This process publishes too: its settings from the run's environment.
        ours = {
            k.removeprefix("SUBCYCLE_").lower(): v
            for k, v in env.items()
            if k.startswith("SUBCYCLE_")
        }
        settings = Settings.model_validate(ours)
        app = build(settings, client=connect(cluster.url))
        procs: list[subprocess.Popen[bytes]] = []
        ports = [free_port(), free_port()]
        try:
            for n, port in enumerate(ports):
                procs.append(_worker(env, directory, n, threads, port))
                procs.append(_spawn(["scheduler"], env, directory / f"scheduler{n}.log"))
            keys = QueueKeys(settings.queue_namespace)
            wait_for(lambda: app.client.zcard(keys.heartbeats) >= 2, 60)
            lease = app.store.keys.scheduler_lease
            wait_for(lambda: app.client.exists(lease) == 1, 60)
            _run_phases(app, cluster, mix, figures, ports, restart_old_primary)
            figures.lease_holders_after = int(app.client.exists(lease))
            ttl = int(app.client.pttl(lease))
            figures.lease_renewed_after = ttl > 1000  # renewed every second, ttl 3 s
            figures.effects = count_effects(app, mix)
            figures.failures += figures.effects.failures
        finally:
            for proc in procs:
                end(proc)
    return figures


def _run_phases(
    app: App, cluster: Sentinels, mix: Mix, figures: Figures, ports: list[int], restart: bool
) -> None:
    one, two, three = mix.purchases(), mix.followups(), mix.closes()
    figures.events = len(one) + len(two) + len(three)
    batches = [one[i : i + BATCH] for i in range(0, len(one), BATCH)]
    figures.batches = len(batches)
    started = time.monotonic()
    kill_after = len(batches) * 2 // 5
    killed: float | None = None
    watcher: threading.Thread | None = None
    for n, batch in enumerate(batches):
        if n == kill_after:
            killed = cluster.kill_primary()
            watcher = threading.Thread(
                target=_watch_promotion, args=(cluster, killed, figures, restart)
            )
            watcher.start()
        acked = _publish_until_acked(app, batch, figures, killed)
        if killed is not None and figures.no_service_s == 0.0:
            figures.no_service_s = acked - killed
    assert killed is not None
    assert watcher is not None
    watcher.join(180)
    done_before = _done(ports)
    for batch in (two, three):
        _wait_settled(app, lambda: settled(app))
        _publish_until_acked(app, batch, figures, killed)
    _wait_settled(app, lambda: settled(app) and closed(app))
    figures.consumed_after = _done(ports) - done_before
    figures.settled_s = time.monotonic() - started


def _wait_settled(app: App, check: Callable[[], bool], timeout: float = 600) -> None:
    try:
        wait_for(check, timeout, poll=0.2)
    except TimeoutError:
        raise TimeoutError(f"not settled within {timeout}s: {unsettled(app)}") from None


def _watch_promotion(cluster: Sentinels, killed: float, figures: Figures, restart: bool) -> None:
    """Beside the publisher: the promotion, then (``restart``) the dead host
    coming back, which the sentinels make a replica of the new primary."""
    assert cluster.replica is not None
    assert cluster.primary is not None
    new = cluster.replica.port
    figures.promoted_s = _since(killed, lambda: cluster.primary_port() == new, 60)
    if restart:
        cluster.bring_back_empty(cluster.primary)
        figures.old_primary_back_s = _since(
            killed, lambda: _role(cluster) == "slave" and _linked(cluster), 120
        )


def _publish_until_acked(
    app: App, batch: list[Event], figures: Figures, killed: float | None
) -> float:
    """Publish ``batch`` until it is acknowledged; returns when it was."""
    while True:
        try:
            app.publisher.publish(batch)
            return time.monotonic()
        except Exception:  # Redis away, no replica confirmed: republish, as upstreams do
            now = time.monotonic()
            figures.failed_publishes += 1
            if killed is not None:
                figures.first_failure_s = figures.first_failure_s or now - killed
                figures.last_failure_s = now - killed
            time.sleep(0.05)


def _done(ports: list[int]) -> int:
    """Events the workers ran to the end (their Prometheus counters)."""
    total = 0.0
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        total += sum(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith("subcycle_events_processed_total")
        )
    return int(total)


def _role(cluster: Sentinels) -> str:
    assert cluster.primary is not None
    try:
        info = cluster.primary.client(decode_responses=True).info("replication")
    except Exception:
        return ""
    return str(info.get("role", ""))


def _linked(cluster: Sentinels) -> bool:
    assert cluster.primary is not None
    info = cluster.primary.client(decode_responses=True).info("replication")
    return info.get("master_link_status") == "up"


def _since(start: float, check: Callable[[], bool], timeout: float) -> float:
    wait_for(check, timeout, 0.05)
    return time.monotonic() - start


def _worker(
    env: dict[str, str], directory: Path, n: int, threads: int, port: int
) -> subprocess.Popen[bytes]:
    prom = directory / f"prom{n}"
    prom.mkdir(exist_ok=True)
    extra = {"dramatiq_prom_db": str(prom), "dramatiq_prom_port": str(port)}
    argv = ["worker", "--processes", "1", "--threads", str(threads)]
    return _spawn(argv, {**env, **extra}, directory / f"worker{n}.log")


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - closed with the process
    argv = [sys.executable, "-m", "subcycle.cli", *args]
    return subprocess.Popen(argv, env=env, stdout=out, stderr=out, start_new_session=True)

"""A worker host vanishes mid-run and comes back: the scenario behind
``bench/vanished_host.py`` (≥ 20,000 events) and ``tests/test_vanished_host.py``
(a CI-sized run).

Two worker hosts (``subcycle worker``, one process each) and a Redis host,
as network namespaces (``netns_support``). During the purchases, host 1's
link is cut while it holds fetched messages; the messages it held must be
requeued within the bound the README states (heartbeat timeout + the
maintenance interval) and taken to the end by host 2. Then the link is
restored: host 1's worker, never restarted, must beat and consume again.
Every effect of the mixed run is counted (``mixed_run``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from subcycle.bootstrap import App, build
from subcycle.settings import Settings
from tests.mixed_run import ENV, Effects, Mix, closed, count_effects, settled
from tests.netns_support import Host, Network
from tests.processes import wait_for
from workers.transport.broker import BrokerSettings
from workers.transport.keys import QueueKeys

_PROCESSED = "subcycle_events_processed_total"
_SCRAPE = (
    "import urllib.request as u;"
    "print(u.urlopen('http://127.0.0.1:9191/metrics', timeout=5).read().decode())"
)


@dataclass
class Figures:
    events: int = 0
    held: int = 0
    bound_s: float = 0.0
    cut_at_s: float = 0.0
    requeued_s: float = 0.0
    redelivered_s: float = 0.0
    outage_s: float = 0.0
    rejoin_s: float = 0.0
    processed_at_restore: int = 0
    processed_at_end: int = 0
    other_processed: int = 0
    settled_s: float = 0.0
    effects: Effects = field(default_factory=Effects)
    failures: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"events published: {self.events}",
            f"host 1 cut at {self.cut_at_s:.1f}s holding {self.held} fetched message(s)",
            f"requeued {self.requeued_s:.1f}s after the cut (bound {self.bound_s:.1f}s); "
            f"every one done by host 2 {self.redelivered_s:.1f}s after the cut",
            f"link restored after {self.outage_s:.1f}s; host 1 beating again "
            f"{self.rejoin_s:.2f}s later, without a restart",
            f"host 1 processed {self.processed_at_restore} before the restore, "
            f"{self.processed_at_end} at the end "
            f"(+{self.processed_at_end - self.processed_at_restore}); "
            f"host 2 {self.other_processed}",
            f"all settled {self.settled_s:.1f}s after the first publish",
            *self.effects.lines,
        ]


def processed(net: Network, host: Host) -> int:
    """Events host's worker ran to the end (its Prometheus counter, read
    inside the host: its loopback stays up when its link is cut)."""
    argv = ["ip", "netns", "exec", host.namespace, sys.executable, "-S", "-c", _SCRAPE]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout
    return int(
        sum(
            float(line.split()[-1])
            for line in out.splitlines()
            if line.startswith("subcycle_events_processed_total")
        )
    )


def run(
    mix: Mix,
    directory: Path,
    *,
    heartbeat_ms: int,
    outage_s: float = 0.0,
    cut: str = "host",
    threads: int = 8,
) -> Figures:
    """The scenario; the link stays cut until host 2 is done with what host 1
    held, and at least ``outage_s``."""
    figures = Figures()
    bound_s = (
        heartbeat_ms + BrokerSettings(heartbeat_timeout_ms=heartbeat_ms).maintenance_interval_ms
    ) / 1000
    figures.bound_s = bound_s
    unique = uuid.uuid4().hex[:8]
    base = {
        **os.environ,
        **ENV,
        "SUBCYCLE_ENV": "development",
        "SUBCYCLE_KEY_PREFIX": f"vh{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"vhq{unique}",
        "SUBCYCLE_HEARTBEAT_TIMEOUT_MS": str(heartbeat_ms),
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "SUBCYCLE_LOG_FORMAT": "json",
    }
    with Network(workers=2, directory=directory).start() as net:
        net.start_redis()
        settings = Settings(
            env="development",
            redis_url=net.control_url,
            key_prefix=base["SUBCYCLE_KEY_PREFIX"],
            queue_namespace=base["SUBCYCLE_QUEUE_NAMESPACE"],
            heartbeat_timeout_ms=heartbeat_ms,
        )
        # connect() sets TCP keepalive, which a unix socket connection refuses.
        app = build(settings, client=redis.Redis.from_url(net.control_url))
        keys = QueueKeys(settings.queue_namespace)
        victim_host, other_host = net.hosts
        victim = _start_worker(net, victim_host, base, threads, 1, app)
        _start_worker(net, other_host, base, threads, 2, app)

        started = time.monotonic()
        one, two, three = mix.purchases(), mix.followups(), mix.closes()
        figures.events = len(one) + len(two) + len(three)
        app.publisher.publish(one)
        holds = keys.acks(victim, "lifecycle")
        for _ in range(50):
            wait_for(
                lambda: (
                    app.client.scard(holds) > 0
                    and app.client.llen(keys.ready("lifecycle")) < len(one) * 0.7
                ),
                300,
                poll=0.005,
            )
            victim_host.cut(cut)
            cut_at = time.monotonic()
            held = _held(app, keys, victim)
            if held:
                break
            # It acked what it had between the look and the cut: not yet.
            victim_host.restore()
            time.sleep(0.05)
        figures.cut_at_s = cut_at - started
        figures.held = len(held)
        if not held:
            figures.failures.append("host 1 held no message when cut: nothing was proven")
        figures.requeued_s = _since(cut_at, lambda: not _held(app, keys, victim), bound_s + 60)
        if figures.requeued_s > bound_s + 1.0:
            figures.failures.append(f"requeued after {figures.requeued_s:.1f}s > {bound_s:.1f}s")
        figures.redelivered_s = _since(
            cut_at,
            lambda: not any(app.client.hexists(keys.messages(q), rid) for q, rid in held),
            bound_s + 120,
        )
        time.sleep(max(0.0, outage_s - (time.monotonic() - cut_at)))
        figures.processed_at_restore = processed(net, victim_host)
        victim_host.restore()
        restored, restored_ms = time.monotonic(), int(time.time() * 1000)
        figures.outage_s = restored - cut_at
        figures.rejoin_s = _since(
            restored, lambda: (app.client.zscore(keys.heartbeats, victim) or 0) > restored_ms, 120
        )

        for batch in (two, three):
            wait_for(lambda: settled(app), 1200, poll=0.2)
            app.publisher.publish(batch)
        wait_for(lambda: settled(app) and closed(app), 1200, poll=0.2)
        figures.settled_s = time.monotonic() - started
        figures.processed_at_end = processed(net, victim_host)
        figures.other_processed = processed(net, other_host)
        if figures.processed_at_end <= figures.processed_at_restore:
            figures.failures.append("host 1 consumed nothing after its link came back")
        figures.effects = count_effects(app, mix)
        figures.failures += figures.effects.failures
    return figures


def _start_worker(
    net: Network, host: Host, base: dict[str, str], threads: int, n: int, app: App
) -> str:
    """``subcycle worker`` on ``host``; returns its broker id once it beats."""
    beats = QueueKeys(app.settings.queue_namespace).heartbeats
    before = set(_members(app, beats))
    prom = net.directory / f"prom{n}"
    prom.mkdir(exist_ok=True)
    env = {
        **base,
        "SUBCYCLE_REDIS_URL": net.url_for(host),
        "dramatiq_prom_db": str(prom),
        "dramatiq_prom_port": "9191",
    }
    argv = [sys.executable, "-m", "subcycle.cli", "worker", "--processes", "1"]
    argv += ["--threads", str(threads)]
    net.spawn(host.namespace, argv, env, net.directory / f"worker{n}.log")
    found: list[str] = []

    def beating() -> bool:
        found[:] = [b for b in _members(app, beats) if b not in before]
        return bool(found)

    wait_for(beating, 60)
    return found[0]


def _held(app: App, keys: QueueKeys, worker: str) -> list[tuple[str, str]]:
    """(queue, Redis message id) of every message ``worker`` fetched and did not ack."""
    prefix = keys.acks(worker, "")
    out = []
    for key in app.client.scan_iter(match=keys.acks(worker, "*"), count=1000):
        queue = _text(key)[len(prefix) :]
        out += [(queue, _text(rid)) for rid in app.client.smembers(key)]
    return out


def _members(app: App, key: str) -> list[str]:
    return [_text(m) for m in app.client.zrange(key, 0, -1)]  # type: ignore[arg-type]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _since(start: float, check: Callable[[], bool], timeout: float) -> float:
    """Seconds from ``start`` until ``check()`` held."""
    wait_for(check, timeout, 0.05)
    return time.monotonic() - start

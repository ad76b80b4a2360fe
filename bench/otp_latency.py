"""Verification-code latency: publish of an OtpRequested → the gateway call.

Real ``subcycle worker`` processes on the real Redis: one group serves only
the otp queue, another serves lifecycle. Each measured request is published
alone (as the login page does) and timed from just before ``publish`` to the
``sent_at`` the worker stamps right before its gateway call (same host clock).
Two phases: idle, then while a background flow of SubscriptionPurchased
events (default 2,000/s) is published on the lifecycle queue.

    .venv/bin/python bench/otp_latency.py                 # 1,000 per phase
    .venv/bin/python bench/otp_latency.py --requests 200  # quick look

Everything lives under a fresh key prefix and queue namespace, deleted at the
end. Needs a Redis at $SUBCYCLE_REDIS_URL (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import bulk  # bench/bulk.py, beside this script
from pydantic import SecretStr

from events import JST, parse_event
from subcycle.bootstrap import App, build
from subcycle.settings import Settings
from workers.gateway.outbox import OutboxGateway

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + uuid.uuid4().hex


@dataclass
class Phase:
    name: str
    latencies_ms: list[float]
    background_published: int = 0
    background_seconds: float = 0.0
    closes: list[float] = field(default_factory=list)


def number(i: int) -> str:
    return f"+8190{10_000_000 + i:08d}"


def purchase(i: int, tag: str) -> Any:
    return parse_event(
        {
            "type": "SubscriptionPurchased",
            "event_id": f"buy-{tag}-{i}",
            "occurred_at": "2026-04-01T10:00:00+09:00",
            "subscription_id": f"{tag}-{i}",
            "phone": number(i),
            "product": "Mobile Security",
            "plan": "monthly",
            "starts_on": "2026-04-01",
            "monthly_fee_jpy": 550,
        }
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_worker(
    env: dict[str, str], queue: str, processes: int, threads: int, nice: int = 0
) -> Any:
    argv = [sys.executable, "-m", "subcycle.cli", "worker", "--queues", queue]
    argv += ["--processes", str(processes), "--threads", str(threads)]
    # Each group its own metrics port and files: 9191 may be anyone's here.
    env = dict(env, dramatiq_prom_port=str(free_port()), dramatiq_prom_host="127.0.0.1")
    env["dramatiq_prom_db"] = tempfile.mkdtemp(prefix=f"otp-bench-{queue}-")
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, start_new_session=True, preexec_fn=lambda: os.nice(nice)
    )
    proc.metrics_dir = env["dramatiq_prom_db"]  # type: ignore[attr-defined]
    return proc


def stop_worker(proc: Any) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # our own worker group, by its id
        proc.wait()
    shutil.rmtree(proc.metrics_dir, ignore_errors=True)


def wait_for(app: App, queue: str, timeout_s: float = 120.0) -> None:
    """Until the queue is empty and nothing is in flight (acks included)."""
    ns = app.settings.queue_namespace
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready = app.client.llen(f"{ns}:{queue}")
        acks = sum(app.client.scard(k) for k in app.client.scan_iter(f"{ns}:__acks__.*.{queue}"))
        if ready == 0 and acks == 0:
            return
        time.sleep(0.1)
    raise SystemExit(f"queue {queue} did not drain in {timeout_s}s")


def background(settings: Settings, rate: int, nice: int, stop: Any, published: Any) -> None:
    """Publish ``rate`` purchases a second in 20 batches a second.

    Its own process, so its work never holds the measuring process's GIL,
    niced like the bulk workers: upstream publishers run on other machines.
    """
    os.nice(nice)
    app = build(settings)
    per_batch = max(1, rate // 20)
    n = 0
    started = time.monotonic()
    while not stop.is_set():
        app.publisher.publish([purchase(10_000_000 + n + k, "bg") for k in range(per_batch)])
        n += per_batch
        published.value = n
        ahead = n / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)


def measure(
    app: App,
    name: str,
    first: int,
    count: int,
    gap_s: float,
    keep: Callable[[], bool] = lambda: True,
) -> Phase:
    """``count`` requests, one at a time; ``keep()`` says at each publish
    whether the request counts (during a close: one was running)."""
    published: dict[str, float] = {}
    i = first - 1
    while len(published) < count:
        i += 1
        counted = keep()
        event = parse_event(
            {
                "type": "OtpRequested",
                "event_id": f"otp-{name.replace(' ', '-')}-{i}",
                "occurred_at": datetime.now(JST).isoformat(),
                "phone": number(i),
                "channel": random.choice(["sms", "voice"]),
            }
        )
        at = time.time()
        app.publisher.publish([event])
        if counted and keep():
            published[f"otp:{event.event_id}"] = at
        time.sleep(gap_s * random.uniform(0.5, 1.5))
    deadline = time.monotonic() + 30
    outbox = OutboxGateway(app.client, app.store.keys)
    while time.monotonic() < deadline:
        sent = {m["message_id"]: m["sent_at"] for m in outbox.messages()}
        if all(mid in sent for mid in published):
            break
        time.sleep(0.2)
    missing = [mid for mid in published if mid not in sent]
    if missing:
        raise SystemExit(f"{len(missing)} codes never reached the gateway, e.g. {missing[:3]}")
    latencies = [
        (datetime.fromisoformat(sent[mid]).timestamp() - at) * 1000 for mid, at in published.items()
    ]
    return Phase(name, latencies)


class Closes(threading.Thread):
    """Month-end closes back to back, month after month, until stopped; each
    through the real path (a published BillingCycleClosed, billing workers)."""

    def __init__(self, app: App, tag: str, first_month: int = 0) -> None:
        super().__init__(daemon=True)
        self.app, self.tag, self.first_month = app, tag, first_month
        self.running = threading.Event()
        self.stopped = threading.Event()
        self.seconds: list[float] = []

    def run(self) -> None:
        n = self.first_month
        while not self.stopped.is_set():
            self.running.set()
            month = bulk.period(n)
            self.seconds.append(
                bulk.close_month(self.app.store, self.app.publisher, month, f"{self.tag}-{n}")
            )
            self.running.clear()
            n += 1


def during_close(
    app: App, env: dict[str, str], requests: int, gap_s: float, first: int, first_month: int = 0
) -> Phase:
    """Verification codes while closes run (the store already holds the
    contracts whose numbers ``number`` gives): only requests published
    while a close was running count."""
    billing = bulk.start_workers(env, "billing", 2, 4)
    try:
        bulk.wait_beating(app.client, app.settings.queue_namespace, 3)  # + the otp group
        closes = Closes(app, "otp-close", first_month)
        closes.start()
        closes.running.wait()
        try:
            phase = measure(app, "during close", first, requests, gap_s, closes.running.is_set)
        finally:
            closes.stopped.set()
            closes.join()
        phase.closes = closes.seconds
        return phase
    finally:
        bulk.stop_workers(billing)


def report(phase: Phase) -> None:
    lat = sorted(phase.latencies_ms)
    q = statistics.quantiles(lat, n=100, method="inclusive")
    line = (
        f"{phase.name:<11} n={len(lat):5d}  p50 {q[49]:6.1f} ms  p95 {q[94]:6.1f} ms  "
        f"p99 {q[98]:6.1f} ms  max {lat[-1]:6.1f} ms"
    )
    line += f"  load avg {os.getloadavg()[0]:.1f}"
    if phase.closes:
        line += f"  ({len(phase.closes)} closes, {statistics.median(phase.closes):.2f} s median)"
    if phase.background_seconds:
        rate = phase.background_published / phase.background_seconds
        line += f"  (background {rate:,.0f} msg/s published)"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000, help="per phase (default 1,000)")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="mean pause between requests")
    parser.add_argument("--background-rate", type=int, default=2_000, help="msg/s on lifecycle")
    parser.add_argument("--otp-processes", type=int, default=1)
    parser.add_argument("--otp-threads", type=int, default=8)
    parser.add_argument("--lifecycle-processes", type=int, default=2)
    parser.add_argument(
        "--background-nice",
        type=int,
        default=10,
        help="niceness of the lifecycle group (bulk work yields the CPU to codes)",
    )
    parser.add_argument("--worker-timeout-ms", type=int, help="SUBCYCLE_OTP_WORKER_TIMEOUT_MS")
    parser.add_argument(
        "--close-size",
        type=int,
        default=0,
        help="then import this many monthly contracts and measure during month-end closes",
    )
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:8]
    env = dict(os.environ)
    env.update(
        SUBCYCLE_ENV="development",
        SUBCYCLE_KEY_PREFIX=f"bench-otp-{tag}:",
        SUBCYCLE_QUEUE_NAMESPACE=f"bench-otp-{tag}",
        SUBCYCLE_OTP_SECRET=SECRET,
        SUBCYCLE_OTP_OVERALL_LIMIT="1000000",
        SUBCYCLE_LOG_LEVEL="WARNING",
        SUBCYCLE_LOG_FORMAT="json",
        PYTHONPATH=str(ROOT),
    )
    if args.worker_timeout_ms:
        env["SUBCYCLE_OTP_WORKER_TIMEOUT_MS"] = str(args.worker_timeout_ms)
    settings = Settings(
        env="development",
        redis_url=env.get("SUBCYCLE_REDIS_URL", "redis://127.0.0.1:6379/0"),
        key_prefix=env["SUBCYCLE_KEY_PREFIX"],
        queue_namespace=env["SUBCYCLE_QUEUE_NAMESPACE"],
        otp_secret=SecretStr(SECRET),
    )
    app = build(settings)
    workers = []
    try:
        app.publisher.publish([purchase(i, "c") for i in range(2 * args.requests)])
        workers.append(
            start_worker(env, "lifecycle", args.lifecycle_processes, 8, args.background_nice)
        )
        workers.append(start_worker(env, "otp", args.otp_processes, args.otp_threads))
        wait_for(app, "lifecycle")
        time.sleep(2)  # let the otp consumers settle into their idle polling
        gap = args.gap_ms / 1000
        report(measure(app, "idle", 0, args.requests, gap))

        stop = multiprocessing.Event()
        count = multiprocessing.Value("l", 0)
        loaded = Phase("under load", [])
        flow = multiprocessing.Process(
            target=background,
            args=(settings, args.background_rate, args.background_nice, stop, count),
        )
        flow.start()
        time.sleep(1)
        started = time.monotonic()
        try:
            measured = measure(app, "load", args.requests, args.requests, gap)
            loaded.latencies_ms = measured.latencies_ms
        finally:
            loaded.background_seconds = time.monotonic() - started + 1
            stop.set()
            flow.join()
            loaded.background_published = int(count.value)
        report(loaded)
        backlog = app.client.llen(f"{settings.queue_namespace}:lifecycle")
        print(f"lifecycle backlog when the load stopped: {backlog} messages", flush=True)
        if args.close_size:
            stop_worker(workers.pop(0))  # the lifecycle group: the close has the CPU
            wait_for(app, "lifecycle")
            loaded_contracts = bulk.import_contracts(env, args.close_size)
            print(f"imported {args.close_size:,} contracts: {loaded_contracts.said}", flush=True)
            report(during_close(app, env, args.requests, gap, 2 * args.requests))
    finally:
        for proc in workers:
            stop_worker(proc)
        for prefix in (settings.key_prefix, settings.queue_namespace + ":"):
            keys = list(app.client.scan_iter(match=f"{prefix}*", count=1000))
            for start in range(0, len(keys), 500):
                app.client.delete(*keys[start : start + 500])


if __name__ == "__main__":
    main()

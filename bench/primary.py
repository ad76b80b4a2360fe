"""What one Redis primary carries: Redis CPU per event of each type, through
the real path (publisher → queue → ``subcycle worker`` → store → follow-ups).

    .venv/bin/python bench/primary.py [--monthly 6000]

Starts a redis-server of its own (AOF everysec, noeviction, as compose.yaml
runs it) on a free loopback port and two ``subcycle worker --processes 1
--threads 8``. For each phase it publishes one type of event and waits until
every queue has settled, reading the server's ``INFO cpu`` (process and
main thread, user + sys) and ``INFO commandstats`` before and after; the
CPU the idle workers' polls cost (measured first, per second) is taken
off. Printed per type: Redis CPU µs per event (main thread: the one core
that saturates), the share in scripts, and the events/s one core would
carry; then the mix of tests/mixed_run.py, and memory per subscription.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events import Event  # noqa: E402
from subcycle.bootstrap import App, build  # noqa: E402
from subcycle.settings import Settings  # noqa: E402
from tests.mixed_run import ENV, Mix, settled  # noqa: E402
from tests.processes import end, free_port, wait_for  # noqa: E402
from tests.redis_servers import Server  # noqa: E402

POLL_S = 0.2


@dataclass
class Row:
    what: str
    count: int
    per: str
    main_us: float
    raw_us: float
    process_us: float
    script_share: float

    @property
    def per_second(self) -> float:
        return 1e6 / self.main_us if self.main_us > 0 else float("inf")


def cpu(client: redis.Redis) -> tuple[float, float]:
    """(main thread, whole process) CPU seconds, user + sys."""
    info: Any = client.info("cpu")
    main = info["used_cpu_sys_main_thread"] + info["used_cpu_user_main_thread"]
    return float(main), float(info["used_cpu_sys"] + info["used_cpu_user"])


def command_usec(client: redis.Redis) -> tuple[float, float]:
    """(all commands, scripts: EVALSHA/EVAL/FCALL) µs as commandstats counts them."""
    stats: Any = client.info("commandstats")
    total = sum(float(v["usec"]) for v in stats.values())
    scripts = sum(
        float(v["usec"]) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval")
    )
    return total, scripts


def idle_rate(client: redis.Redis, app: App, seconds: float = 4.0) -> float:
    """Main-thread CPU µs per second with the workers idle and this process polling."""
    before, _ = cpu(client)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        settled(app)
        time.sleep(POLL_S)
    after, _ = cpu(client)
    return (after - before) * 1e6 / (time.monotonic() - started)


def measure(
    client: redis.Redis,
    app: App,
    idle: float,
    what: str,
    send: Callable[[], None],
    count: int,
    per: str,
    done: Callable[[], bool] | None = None,
) -> Row:
    main0, proc0 = cpu(client)
    usec0, script0 = command_usec(client)
    started = time.monotonic()
    send()
    wait_for(lambda: settled(app) and (done is None or done()), 1800, poll=POLL_S)
    elapsed = time.monotonic() - started
    main1, proc1 = cpu(client)
    usec1, script1 = command_usec(client)
    main = (main1 - main0) * 1e6 - idle * elapsed
    process = (proc1 - proc0) * 1e6 - idle * elapsed
    share = (script1 - script0) / max(1.0, usec1 - usec0)
    raw = (main1 - main0) * 1e6
    return Row(what, count, per, main / count, raw / count, process / count, share)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--monthly", type=int, default=6_000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    directory = Path(tempfile.mkdtemp(prefix="primary_"))
    server = Server(directory / "redis", "--appendonly", "yes", "--appendfsync", "everysec")
    server.args += ["--maxmemory-policy", "noeviction"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        server.start()
        rows, memory = run(server, directory, args.monthly, procs)
    finally:
        for proc in procs:
            end(proc)
        server.kill()
    print_rows(rows, memory, args.monthly)
    shutil.rmtree(directory, ignore_errors=True)
    return 0


def run(
    server: Server, directory: Path, monthly: int, procs: list[subprocess.Popen[bytes]]
) -> tuple[list[Row], float]:
    url = f"redis://127.0.0.1:{server.port}/0"
    unique = uuid.uuid4().hex[:6]
    env = {
        **os.environ,
        **ENV,
        "SUBCYCLE_ENV": "development",
        "SUBCYCLE_REDIS_URL": url,
        "SUBCYCLE_KEY_PREFIX": f"cap{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"capq{unique}",
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "SUBCYCLE_LOG_FORMAT": "json",
    }
    client = server.client()
    settings = Settings(
        env="development",
        redis_url=url,
        key_prefix=env["SUBCYCLE_KEY_PREFIX"],
        queue_namespace=env["SUBCYCLE_QUEUE_NAMESPACE"],
    )
    app = build(settings, client=redis.Redis.from_url(url))
    for n in range(2):
        prom = directory / f"prom{n}"
        prom.mkdir()
        extra = {"dramatiq_prom_db": str(prom), "dramatiq_prom_port": str(free_port())}
        argv = [sys.executable, "-m", "subcycle.cli", "worker", "--processes", "1"]
        out = open(directory / f"worker{n}.log", "ab")  # noqa: SIM115 - closed with the process
        procs.append(
            subprocess.Popen(
                [*argv, "--threads", "8"],
                env={**env, **extra},
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        )
    wait_for(lambda: client.zcard(f"{settings.queue_namespace}:__heartbeats__") >= 2, 60)
    idle = idle_rate(client, app)
    print(
        f"2 idle worker processes (all queues, so 10 ms otp polls) cost the server {idle:,.0f} µs"
        f" of main-thread CPU per second: {idle / 2e4:.1f} % of a core each (taken off below)"
    )

    mix = Mix(monthly=monthly, annual=monthly // 2, otp=monthly // 4)
    buys = mix.purchases()
    later = mix.followups()
    by_type: dict[str, list[Event]] = {}
    for event in later:
        by_type.setdefault(type(event).__name__, []).append(event)
    monthly_buys = [e for e in buys if getattr(e, "plan", "") == "monthly"]
    annual_buys = [e for e in buys if getattr(e, "plan", "") == "annual"]
    mem0 = float(client.info("memory")["used_memory"])

    def publish(events: list[Event]) -> Callable[[], None]:
        def send() -> None:
            app.publisher.publish(events)

        return send

    rows = [
        measure(
            client,
            app,
            idle,
            "SubscriptionPurchased (monthly)",
            publish(monthly_buys),
            len(monthly_buys),
            "event",
        ),
        measure(
            client,
            app,
            idle,
            "SubscriptionPurchased (annual)",
            publish(annual_buys),
            len(annual_buys),
            "event",
        ),
    ]
    memory = (float(client.info("memory")["used_memory"]) - mem0) / len(buys)
    for kind in ("CancellationRequested", "RenewalConsentGiven", "OtpRequested"):
        events = by_type[kind]
        rows.append(measure(client, app, idle, kind, publish(events), len(events), "event"))
    close = [
        e
        for e in mix.closes()
        if type(e).__name__ == "BillingCycleClosed" and getattr(e, "period", "") == "2026-05"
    ]
    charges = app.store.ledger

    def closed_may() -> bool:
        try:
            return charges.count("2026-05") >= monthly
        except Exception:
            return False

    rows.append(
        measure(
            client,
            app,
            idle,
            "BillingCycleClosed → its charges",
            publish(close),
            monthly,
            "charge",
            closed_may,
        )
    )
    tick = [e for e in mix.closes() if type(e).__name__ == "ExpiryTick"]
    due = mix.annual - len(range(0, mix.annual, 3))
    rows.append(
        measure(client, app, idle, "ExpiryTick → its reminders", publish(tick), due, "reminder")
    )
    return rows, memory


def print_rows(rows: list[Row], memory: float, monthly: int) -> None:
    print()
    print(
        "| event | measured | Redis main-thread CPU µs | (idle polls not taken off) "
        "| whole process µs | in scripts | per second on one core |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.what} | {r.count:,} | {r.main_us:.0f} per {r.per} | {r.raw_us:.0f} "
            f"| {r.process_us:.0f} | "
            f"{r.script_share:.0%} | {r.per_second:,.0f} |"
        )
    # The mix of tests/mixed_run.py per 28 events: 12 monthly and 6 annual
    # purchases, 6 cancellations, 2 consents, 2 verification-code requests.
    by = {r.what: r.main_us for r in rows}
    weights = {
        "SubscriptionPurchased (monthly)": 12,
        "SubscriptionPurchased (annual)": 6,
        "CancellationRequested": 6,
        "RenewalConsentGiven": 2,
        "OtpRequested": 2,
    }
    mixed = sum(by[k] * w for k, w in weights.items()) / sum(weights.values())
    print()
    print(
        f"the mix (12:6:6:2:2 purchases m/a, cancellations, consents, codes): "
        f"{mixed:.0f} µs per event → {1e6 / mixed:,.0f} events/s saturate one Redis core"
    )
    print(
        f"memory: {memory:,.0f} bytes per subscription (purchases of {monthly:,} + "
        f"{monthly // 2:,}) → {2**30 / memory:,.0f} subscriptions per GiB, before charges"
    )


if __name__ == "__main__":
    raise SystemExit(main())

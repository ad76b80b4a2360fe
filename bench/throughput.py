"""Benchmark: bare Dramatiq against subcycle, and ``subcycle publish``.

    .venv/bin/python bench/throughput.py [--count 20000] [--processes 2] [--threads 8]
                                         [--rounds 3]

In one run on the real Redis (``$SUBCYCLE_REDIS_URL``, default 127.0.0.1:6379):

1. bare Dramatiq: a no-op actor (``bench/bare_app.py``) under the ``dramatiq``
   CLI; ``--count`` messages pushed onto its queue at once; the rate is
   messages over the time until the queue is empty and every message acked;
   then the same no-op actor on subcycle's broker (``bench/noop_app.py``:
   the poison guard and every middleware), which isolates the plumbing;
   then the floor (``bench/floor_app.py``): that actor writing one
   idempotency record per message, the least any handler that records its
   event can do;
2. subcycle: ``CancellationRequested`` events (one per monthly subscription,
   purchased beforehand and not timed) published through the publisher to
   ``subcycle.worker_app`` workers with the very same CLI settings and
   ``dramatiq_queue_prefetch``; the same measure;
3. the ratio of the two (target: subcycle at least 70 % of bare). Steps 1
   and 2 are repeated ``--rounds`` times back to back and the median of the
   rounds' ratios is printed: on a shared machine one bare run alone can be
   off by a third;
4. ``subcycle publish`` of a ``--lines`` JSON-lines file in a real process,
   wall time including interpreter start (target: at least 25,000 events/s).

Every key it writes is under its own prefix or namespace and is deleted at
the end. Not a test: run it on demand.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from dramatiq import Message

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events import parse_event  # noqa: E402
from store.connection import connect  # noqa: E402
from subcycle.bootstrap import build  # noqa: E402
from subcycle.settings import Settings  # noqa: E402
from tests.conftest import delete_prefixed  # noqa: E402
from tests.processes import kill_group, wait_for  # noqa: E402

URL = os.environ.get("SUBCYCLE_REDIS_URL", "redis://127.0.0.1:6379/0")


def workers(
    module: str, env: dict[str, str], args: argparse.Namespace, *queues: str
) -> list[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "dramatiq", module, "--processes", str(args.processes)]
    argv += ["--threads", str(args.threads), "--skip-logging"]
    if queues:
        argv += ["--queues", *queues]
    full = {**os.environ, **env, "dramatiq_queue_prefetch": str(args.prefetch)}
    full["dramatiq_worker_timeout"] = "100"
    full["PYTHONPATH"] = str(ROOT)
    return [
        subprocess.Popen(
            argv,
            env=full,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]


def beating(client: redis.Redis, namespace: str, n: int) -> None:
    wait_for(lambda: client.zcard(f"{namespace}:__heartbeats__") >= n, 60)


def drained(client: redis.Redis, namespace: str, queue: str) -> bool:
    return (
        client.llen(f"{namespace}:{queue}") == 0 and client.hlen(f"{namespace}:{queue}.msgs") == 0
    )


def cancellation(i: int, tag: str) -> dict[str, object]:
    return {
        "type": "CancellationRequested",
        "event_id": f"{tag}-cancel-{i}",
        "occurred_at": "2026-06-15T20:30:00+09:00",
        "subscription_id": f"{tag}{i}",
        "kind": "monthly_service",
    }


def purchase(i: int, tag: str) -> dict[str, object]:
    return {
        "type": "SubscriptionPurchased",
        "event_id": f"{tag}-buy-{i}",
        "occurred_at": "2026-04-01T10:00:00+09:00",
        "subscription_id": f"{tag}{i}",
        "phone": f"+8190{10_000_000 + i % 90_000_000}",  # distinct, as customers are
        "product": "Mobile Security",
        "plan": "monthly",
        "starts_on": "2026-04-01",
        "monthly_fee_jpy": 550,
    }


def queue_noops(pipe: Any, namespace: str, count: int) -> None:
    """Queue ``count`` no-op messages, as Dramatiq stores them, on ``pipe``."""
    for i in range(count):
        rid = str(uuid.uuid4())
        message: Message[Any] = Message(
            queue_name="bench",
            actor_name="noop",
            args=(cancellation(i, "X"),),
            kwargs={},
            options={"redis_message_id": rid},
        )
        pipe.hset(f"{namespace}:bench.msgs", rid, message.encode())
        pipe.rpush(f"{namespace}:bench", rid)


def cpu_seconds(group: subprocess.Popen[bytes]) -> float:
    """User and system time of every live process in ``group``'s process group."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group.pid:  # its process group: start_new_session=True
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


@dataclass(frozen=True)
class Sample:
    rate: float  # messages per second
    worker_us: float  # CPU of the worker processes per message
    redis_us: float  # CPU of the Redis server per message


class Measure:
    """Rate and CPU per message from ``start()`` to ``stop(count)``."""

    def __init__(self, client: redis.Redis, group: subprocess.Popen[bytes]) -> None:
        self.client, self.group = client, group

    def start(self) -> None:
        self.cpu, self.rcpu = cpu_seconds(self.group), redis_cpu(self.client)
        self.t0 = time.monotonic()

    def stop(self, count: int) -> Sample:
        elapsed = time.monotonic() - self.t0
        worker_us = (cpu_seconds(self.group) - self.cpu) / count * 1e6
        redis_us = (redis_cpu(self.client) - self.rcpu) / count * 1e6
        return Sample(count / elapsed, worker_us, redis_us)


def noop_rate(client: redis.Redis, args: argparse.Namespace, module: str) -> Sample:
    namespace = f"benchnoop{uuid.uuid4().hex[:8]}"
    env = {"BENCH_REDIS_URL": URL, "BENCH_NAMESPACE": namespace}
    (group,) = workers(module, env, args)
    try:
        beating(client, namespace, args.processes)
        measure = Measure(client, group)
        with client.pipeline(transaction=False) as pipe:
            queue_noops(pipe, namespace, args.count)
            measure.start()
            pipe.execute()
        wait_for(lambda: drained(client, namespace, "bench"), 600, poll=0.01)
        return measure.stop(args.count)
    finally:
        kill_group(group)
        delete_prefixed(client, f"{namespace}:")


def subcycle_rate(
    client: redis.Redis,
    args: argparse.Namespace,
    module: str = "subcycle.worker_app",
    extra_env: dict[str, str] | None = None,
) -> Sample:
    unique = uuid.uuid4().hex[:8]
    env = {
        "SUBCYCLE_REDIS_URL": URL,
        "SUBCYCLE_ENV": "development",  # a benchmark: the outbox gateway
        "SUBCYCLE_KEY_PREFIX": f"bench{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"benchq{unique}",
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "SUBCYCLE_LOG_FORMAT": "json",
        **(extra_env or {}),
    }
    settings = Settings(
        env="development",
        redis_url=URL,
        key_prefix=env["SUBCYCLE_KEY_PREFIX"],
        queue_namespace=env["SUBCYCLE_QUEUE_NAMESPACE"],
    )
    app = build(settings, client=connect(URL))
    ns = settings.queue_namespace
    (group,) = workers(module, env, args, "lifecycle", "cancellations")
    try:
        beating(client, ns, args.processes)
        app.publisher.publish(parse_event(purchase(i, "B")) for i in range(args.count))
        wait_for(lambda: drained(client, ns, "lifecycle"), 900, poll=0.1)
        events = [parse_event(cancellation(i, "B")) for i in range(args.count)]
        measure = Measure(client, group)
        measure.start()
        app.publisher.publish(events)
        wait_for(lambda: drained(client, ns, "cancellations"), 900, poll=0.01)
        sample = measure.stop(args.count)
        refused = len(app.store.refusals.list())
        if refused:
            print(f"  warning: {refused} cancellation(s) refused")
        return sample
    finally:
        kill_group(group)
        delete_prefixed(client, env["SUBCYCLE_KEY_PREFIX"], f"{ns}:")


def publish_rate(client: redis.Redis, lines: int) -> tuple[float, str]:
    unique = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "SUBCYCLE_REDIS_URL": URL,
        "SUBCYCLE_ENV": "development",  # a benchmark: the outbox gateway
        "SUBCYCLE_KEY_PREFIX": f"benchp{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"benchpq{unique}",
        "SUBCYCLE_LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        with path.open("w") as f:
            for i in range(lines):
                event = purchase(i, "P") if i % 2 == 0 else cancellation(i - 1, "P")
                f.write(json.dumps(event) + "\n")
        try:
            started = time.monotonic()
            done = subprocess.run(
                [str(ROOT / ".venv/bin/subcycle"), "publish", str(path)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.monotonic() - started
        finally:
            delete_prefixed(
                client, env["SUBCYCLE_KEY_PREFIX"], f"{env['SUBCYCLE_QUEUE_NAMESPACE']}:"
            )
    return lines / seconds, done.stdout.strip()


def add_worker_options(parser: argparse.ArgumentParser, *, count: int, rounds: int) -> None:
    """The worker settings every measure here shares (``workers``), and its size."""
    parser.add_argument("--count", type=int, default=count)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--prefetch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_worker_options(parser, count=20_000, rounds=3)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    client = redis.Redis.from_url(URL)
    print(
        f"workers: {args.processes} process(es) x {args.threads} threads, "
        f"prefetch {args.prefetch}; {args.count} messages; {args.rounds} round(s), "
        "each measuring all four back to back"
    )
    rows: dict[str, list[float]] = {"bare": [], "plumbing": [], "floor": [], "ours": []}
    for n in range(1, args.rounds + 1):
        rows["bare"].append(noop_rate(client, args, "bench.bare_app").rate)
        rows["plumbing"].append(noop_rate(client, args, "bench.noop_app").rate)
        rows["floor"].append(noop_rate(client, args, "bench.floor_app").rate)
        rows["ours"].append(subcycle_rate(client, args).rate)
        bare, plumbing, floor, ours = (rows[k][-1] for k in rows)
        print(
            f"round {n}: bare {bare:6.0f} msg/s | our broker, no-op {plumbing:6.0f} "
            f"({plumbing / bare:.0%}) | floor {floor:6.0f} ({floor / bare:.0%}) | "
            f"CancellationRequested {ours:6.0f} ({ours / bare:.1%})"
        )
    bares = rows["bare"]
    ratio = {
        k: statistics.median(a / b for a, b in zip(v, bares, strict=True)) for k, v in rows.items()
    }
    median = {k: statistics.median(v) for k, v in rows.items()}
    print(f"bare dramatiq, no-op actor:         {median['bare']:8.0f} msg/s (median)")
    print(
        f"subcycle broker, no-op actor:       {median['plumbing']:8.0f} msg/s  "
        f"({ratio['plumbing']:.0%} of bare, median of the rounds' ratios)"
    )
    print(
        f"floor, one record per message:      {median['floor']:8.0f} msg/s  "
        f"({ratio['floor']:.0%} of bare)"
    )
    print(f"subcycle, CancellationRequested:    {median['ours']:8.0f} events/s")
    print(f"ratio subcycle / bare:              {ratio['ours']:8.1%}  (target >= 70%)")
    rate, said = publish_rate(client, args.lines)
    print(f"subcycle publish, {args.lines} lines:  {rate:8.0f} events/s  (target >= 25000; {said})")


if __name__ == "__main__":
    main()

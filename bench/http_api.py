"""Benchmark: the HTTP API beside ``subcycle publish``, in one run on the real Redis.

    .venv/bin/python bench/http_api.py [--events 100000] [--requests 20000] [--workers 1]

1. ``subcycle publish`` of a JSON-lines file of ``--events`` events (a real
   process, interpreter start included), events/s;
2. the same file through ``POST /v1/events/batch`` in requests of 1,000
   (NDJSON, two requests in flight), events/s, and its ratio to 1 (target
   at least 0.8);
3. single ``POST /v1/events`` from 32 concurrent clients (a closed loop):
   requests/s, p50 and p99 (target p99 at most 20 ms);
4. ``POST /v1/otp/verify`` at 200 requests/s (an open loop: a request's
   time counts from when it was due): p50, p99 (target p99 at most 20 ms).

The load generator is a process of its own (bench/http_load.py, asyncio
streams); its CPU seconds and the server's are printed beside each figure.
Every key is under the run's own prefixes and is deleted at the end. Not a
test: run it on demand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import delete_prefixed  # noqa: E402
from tests.processes import free_port, kill_group, wait_for  # noqa: E402

URL = os.environ.get("SUBCYCLE_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-api-secret-" + "0" * 32
BIN = ROOT / ".venv" / "bin"


def env_for(tag: str) -> dict[str, str]:
    return {
        **os.environ,
        "SUBCYCLE_ENV": "development",  # a benchmark: the outbox gateway
        "SUBCYCLE_REDIS_URL": URL,
        "SUBCYCLE_KEY_PREFIX": f"bench-api-{tag}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"bench-api-q-{tag}",
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "SUBCYCLE_LOG_FORMAT": "json",
        "SUBCYCLE_OTP_SECRET": SECRET,
        "SUBCYCLE_OTP_NUMBER_LIMIT": "1000000",
        "SUBCYCLE_OTP_OVERALL_LIMIT": "1000000",
    }


def write_events(path: Path, count: int) -> None:
    with path.open("w") as f:
        for i in range(count):
            if i % 2 == 0:
                event: dict[str, Any] = {
                    "type": "SubscriptionPurchased",
                    "event_id": f"p-{i}",
                    "occurred_at": "2026-04-01T10:00:00+09:00",
                    "subscription_id": f"S{i}",
                    "phone": f"090{10_000_000 + i:08d}",
                    "product": "Mobile Security",
                    "plan": "monthly",
                    "starts_on": "2026-04-01",
                    "monthly_fee_jpy": 550,
                }
            else:
                event = {
                    "type": "CancellationRequested",
                    "event_id": f"c-{i}",
                    "occurred_at": "2026-06-15T20:30:00+09:00",
                    "subscription_id": f"S{i - 1}",
                    "kind": "monthly_service",
                }
            f.write(json.dumps(event) + "\n")


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(x) for x in fields[11:15]) / ticks


def load(*argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "http_load.py"), *argv],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def make_key(env: dict[str, str]) -> str:
    done = subprocess.run(
        [
            str(BIN / "subcycle"),
            *("api-keys", "create", f"bench-{uuid.uuid4().hex[:6]}"),
            *("--scope", "events:*", "--scope", "otp"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--otp-seconds", type=float, default=20)
    args = parser.parse_args()
    client = redis.Redis.from_url(URL)
    tags = [uuid.uuid4().hex[:8] for _ in range(2)]
    cli_env, api_env = env_for(tags[0]), env_for(tags[1])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "events.jsonl"
            write_events(path, args.events)

            started = time.monotonic()
            subprocess.run(
                [str(BIN / "subcycle"), "publish", str(path)],
                env=cli_env,
                capture_output=True,
                check=True,
            )
            cli_rate = args.events / (time.monotonic() - started)

            port = free_port()
            server = subprocess.Popen(
                [str(BIN / "subcycle"), "api", "--port", str(port), "--workers", str(args.workers)],
                env=api_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            url = f"http://127.0.0.1:{port}"
            try:
                wait_for(lambda: _up(url), 30, poll=0.2)
                key = make_key(api_env)
                rows = []
                cpu = cpu_seconds(server.pid)
                batch = load(
                    "batch",
                    "--url",
                    url,
                    "--key",
                    key,
                    "--file",
                    str(path),
                    "--size",
                    "1000",
                    "--concurrency",
                    "2",
                )
                rows.append(("batch", batch, cpu_seconds(server.pid) - cpu))
                cpu = cpu_seconds(server.pid)
                single = load(
                    "closed",
                    "--url",
                    url,
                    "--key",
                    key,
                    "--concurrency",
                    "32",
                    "--requests",
                    str(args.requests),
                    "--kind",
                    "event",
                )
                rows.append(("single", single, cpu_seconds(server.pid) - cpu))
                cpu = cpu_seconds(server.pid)
                verify = load(
                    "open",
                    "--url",
                    url,
                    "--key",
                    key,
                    "--rate",
                    "200",
                    "--seconds",
                    str(args.otp_seconds),
                    "--kind",
                    "verify",
                )
                rows.append(("verify", verify, cpu_seconds(server.pid) - cpu))
            finally:
                kill_group(server)
    finally:
        for tag in tags:
            delete_prefixed(client, f"bench-api-{tag}:", f"bench-api-q-{tag}:")

    batch_rate = rows[0][1]["events_per_s"]
    print(f"subcycle publish, {args.events:,} events:        {cli_rate:8,.0f} events/s")
    print(
        f"POST /v1/events/batch, 1,000 per request: {batch_rate:8,.0f} events/s"
        f"  ({batch_rate / cli_rate:.2f} x publish; target >= 0.8)"
        f"  p50 {rows[0][1]['p50_ms']} ms  p99 {rows[0][1]['p99_ms']} ms"
    )
    s = rows[1][1]
    print(
        f"POST /v1/events, 32 concurrent clients:    {s['rate']:8,.0f} requests/s"
        f"  p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms (target p99 <= 20)"
        f"  statuses {s['statuses']}"
    )
    v = rows[2][1]
    print(
        f"POST /v1/otp/verify at 200/s (open loop):  {v['rate']:8,.0f} requests/s"
        f"  p50 {v['p50_ms']} ms  p99 {v['p99_ms']} ms (target p99 <= 20)"
        f"  statuses {v['statuses']}"
    )
    for name, result, server_cpu in rows:
        print(
            f"  {name:<7} server CPU {server_cpu:6.2f} s, load generator CPU "
            f"{result['generator_cpu_s']:6.2f} s over {result['seconds']:.1f} s"
        )
    print(f"server: subcycle api --workers {args.workers} (uvicorn, httptools, uvloop)")


def _up(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except OSError:
        return False


if __name__ == "__main__":
    main()

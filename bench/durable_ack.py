"""Durable acknowledgement, measured (README "Running in production").

For each durability set-up: publish one event at a time through subcycle's
publisher, SIGKILL redis-server the moment the publish returns, restart it
from its AOF, and count the acknowledged events that are not there.

    .venv/bin/python bench/durable_ack.py [--events 100]

A SIGKILL kills the process, not the host: what the server had written to
the AOF is in the kernel's page cache and survives, fsynced or not. So with
``appendfsync everysec`` this shows what a process crash loses; what a host
crash (power, kernel panic) loses is up to the last second of writes that
everysec had not fsynced yet, which only pulling the plug would show.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events import parse_upstream  # noqa: E402
from subcycle.bootstrap import build  # noqa: E402
from subcycle.settings import Settings  # noqa: E402

SETUPS = {
    # name: (SUBCYCLE_DURABILITY, redis-server persistence options)
    "fsync (appendfsync always)": ("fsync", ["--appendonly", "yes", "--appendfsync", "always"]),
    "memory (appendfsync everysec)": (
        "memory",
        ["--appendonly", "yes", "--appendfsync", "everysec"],
    ),
    "memory (no AOF, no RDB)": ("memory", ["--appendonly", "no"]),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(directory: Path, port: int, options: list[str]) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    argv += ["--save", "", *options]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(400):
        try:
            client.ping()
            return proc
        except redis.BusyLoadingError:
            pass
        except redis.ConnectionError:
            pass
        time.sleep(0.025)
    proc.kill()
    raise SystemExit("redis-server did not start")


def consent(n: int) -> dict[str, object]:
    return {
        "type": "RenewalConsentGiven",
        "event_id": f"ack-{n}",
        "occurred_at": "2026-07-02T09:15:00+09:00",
        "subscription_id": f"SUB-{n}",
    }


def measure(durability: str, options: list[str], events: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="durable-ack-") as tmp:
        port = free_port()
        settings = Settings(env="development", durability=durability, otp_secret_file=None)
        proc = start(Path(tmp), port, options)
        acknowledged = []
        try:
            for n in range(events):
                app = build(settings, client=redis.Redis(port=port))
                if app.publisher.publish([parse_upstream(consent(n))]).enqueued == 1:
                    acknowledged.append(n)
                proc.send_signal(signal.SIGKILL)  # the moment the publish returned
                proc.wait()
                proc = start(Path(tmp), port, options)
            client = redis.Redis(port=port)
            keys = app.store.keys
            lost = [n for n in acknowledged if not client.hexists(*keys.claim(f"ack-{n}"))]
        finally:
            proc.kill()
            proc.wait()
    return {"acknowledged": len(acknowledged), "lost": len(lost)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    for name, (durability, options) in SETUPS.items():
        found = measure(durability, options, args.events)
        print(json.dumps({"setup": name, **found}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Real processes for the fault tests: Dramatiq workers and a Redis of our own."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis


def env_for(unique: str, url: str, **extra: str) -> dict[str, str]:
    """The SUBCYCLE_* environment of a process working under a test's own
    prefix and namespace, JSON logs; ``extra`` as upper-case variables."""
    return {
        "SUBCYCLE_REDIS_URL": url,
        "SUBCYCLE_KEY_PREFIX": f"t{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"tq{unique}",
        "SUBCYCLE_LOG_FORMAT": "json",
        "SUBCYCLE_ENV": "development",
        **{key.upper(): value for key, value in extra.items()},
    }


def run_command(
    argv: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """A command in a process of its own, as an operator would run it."""
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_worker(
    env: dict[str, str], *, threads: int = 2, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """One ``dramatiq`` master with one worker process, in its own process group
    so that a SIGKILL of the group kills the worker as a crash would."""
    argv = [sys.executable, "-m", "dramatiq", "subcycle.worker_app", "--processes", "1"]
    argv += ["--threads", str(threads), "--skip-logging"]
    full = {
        **os.environ,
        "dramatiq_worker_timeout": "100",
        "dramatiq_prom_port": str(free_port()),
        **env,
    }
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(argv, env=full, stdout=out, stderr=out, start_new_session=True)


def start_scheduler(env: dict[str, str], *, log: Path | None = None) -> subprocess.Popen[bytes]:
    """``subcycle scheduler`` in its own process group."""
    argv = [sys.executable, "-m", "subcycle.cli", "scheduler"]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        argv, env={**os.environ, **env}, stdout=out, stderr=out, start_new_session=True
    )


def kill_group(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    proc.wait(timeout=30)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        kill_group(proc, signal.SIGTERM)


def end(proc: subprocess.Popen[bytes], grace_s: float = 10) -> None:
    """SIGTERM its group, SIGKILL it if it is still there after ``grace_s``:
    a clean-up that always finishes (``stop`` raises on a slow process)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    except ProcessLookupError:
        return


def wait_for(check: Callable[[], bool], timeout: float, poll: float = 0.05) -> float:
    """Seconds until ``check()`` held; raises TimeoutError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except (redis.ConnectionError, redis.TimeoutError):
            pass
        time.sleep(poll)
    raise TimeoutError(f"not within {timeout}s")


class OwnRedis:
    """A redis-server with AOF (fsync always) on its own port and directory."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed")
        argv = [
            server,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
        ]
        argv += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        argv += ["--maxmemory-policy", "noeviction"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        wait_for(lambda: bool(client.ping()), 20)

    def crash(self) -> None:
        """SIGKILL: only what the AOF holds survives."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

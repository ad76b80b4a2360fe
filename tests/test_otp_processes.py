"""A code through real processes: ``subcycle worker --queues otp`` delivers it,
``subcycle otp verify`` accepts it, both wired from the environment alone.

Process-spawning: marked ``slow`` (about 3 s); real Redis only."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest
from pydantic import SecretStr

from events import JST
from subcycle.bootstrap import App, build
from subcycle.settings import Settings
from tests.conftest import REAL_REDIS_URL, delete_prefixed, real_redis_or_skip
from tests.otp_support import SECRET, customer, last_code, outbox
from tests.processes import free_port, stop, wait_for
from tests.support import PHONE, event

pytestmark = pytest.mark.slow


@pytest.fixture
def env(unique: str) -> Iterator[dict[str, str]]:
    client = real_redis_or_skip()
    yield {
        **os.environ,
        "SUBCYCLE_REDIS_URL": REAL_REDIS_URL,
        "SUBCYCLE_KEY_PREFIX": f"t{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"tq{unique}",
        "SUBCYCLE_OTP_SECRET": SECRET,
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "dramatiq_prom_port": str(free_port()),
    }
    delete_prefixed(client, f"t{unique}:", f"tq{unique}:")


def _app(env: dict[str, str]) -> App:
    settings = Settings(
        key_prefix=env["SUBCYCLE_KEY_PREFIX"],
        queue_namespace=env["SUBCYCLE_QUEUE_NAMESPACE"],
        otp_secret=SecretStr(SECRET),
    )
    return build(settings, client=real_redis_or_skip(), clock=lambda: datetime.now(JST))


def _subcycle(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "subcycle.cli", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_worker_process_delivers_a_code_that_the_verify_command_accepts(
    env: dict[str, str],
) -> None:
    app = _app(env)
    customer(app)
    argv = [sys.executable, "-m", "subcycle.cli", "worker", "--queues", "otp"]
    argv += ["--processes", "1", "--threads", "2"]
    worker = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        now = datetime.now(JST).isoformat()
        app.publisher.publish([event("OtpRequested", phone=PHONE, channel="sms", occurred_at=now)])
        wait_for(lambda: bool(outbox(app)), timeout=30)
    finally:
        stop(worker)

    done = _subcycle(env, "otp", "verify", "--phone", "090-1234-5678", "--code", last_code(app))

    assert (done.returncode, done.stdout.splitlines()[0]) == (0, "ok")
    status = _subcycle(env, "otp", "status", "--phone", PHONE)
    assert status.stdout.splitlines()[0] == "none"

"""Two real ``subcycle drain`` processes work one month's closes at once (two
closes of the same month racing): no charge is doubled.

Process-spawning: marked ``slow``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from subcycle.bootstrap import App
from tests.support import purchase, run
from tests.test_billing import month_end

pytestmark = pytest.mark.slow


def test_two_processes_closing_one_month_at_once_never_double_a_charge(
    app: App, backend: str
) -> None:
    if backend != "redis":
        pytest.skip("processes share only a real Redis")
    run(app, *(purchase(f"S{i}") for i in range(300)))
    app.publisher.publish(
        [month_end("2026-06", event_id="close-a"), month_end("2026-06", event_id="close-b")]
    )
    env = {
        **os.environ,
        "SUBCYCLE_REDIS_URL": os.environ.get("SUBCYCLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "SUBCYCLE_KEY_PREFIX": app.settings.key_prefix,
        "SUBCYCLE_QUEUE_NAMESPACE": app.settings.queue_namespace,
        "SUBCYCLE_LOG_LEVEL": "WARNING",
    }
    argv = [sys.executable, "-m", "subcycle.cli", "drain", "--horizon", "2"]
    workers = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE) for _ in range(2)]
    outputs = [w.communicate(timeout=120)[0].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    assert all(out.startswith("processed") for out in outputs)
    assert app.store.ledger.count("2026-06") == 300
    status = app.store.billing.status("2026-06")
    assert status is not None
    assert status.state == "closed"

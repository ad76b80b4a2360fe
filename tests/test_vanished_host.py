"""A worker host that vanishes from the network mid-run (network namespaces,
real ``subcycle worker`` processes, a redis-server of the test's own): its
messages come back within the stated bound, nothing doubles, and it rejoins
without a restart. CI-sized; the long run is ``bench/vanished_host.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REQUIRE_REDIS
from tests.mixed_run import Mix
from tests.netns_support import netns_refusal
from tests.vanishing import run

pytestmark = pytest.mark.slow

HEARTBEAT_MS = 3_000


@pytest.fixture(scope="module")
def namespaces() -> None:
    refusal = netns_refusal()
    if refusal is None:
        return
    if REQUIRE_REDIS:
        pytest.fail(f"SUBCYCLE_REQUIRE_REDIS=1 but network namespaces: {refusal}")
    pytest.skip(f"no network namespaces here: {refusal}")


@pytest.mark.parametrize("cut", ["silent", "host"])
def test_a_vanished_worker_host_loses_nothing_doubles_nothing_and_rejoins(
    namespaces: None, tmp_path: Path, cut: str
) -> None:
    # Given two worker hosts and about 2,000 mixed events
    mix = Mix(monthly=860, annual=430, otp=150)
    # When host 1's link is cut while it holds messages, for twice the bound
    figures = run(mix, tmp_path, heartbeat_ms=HEARTBEAT_MS, outage_s=8.0, cut=cut)
    report = "\n".join(figures.lines())
    # Then what it held was requeued within the bound and done by host 2,
    assert figures.held > 0, report
    assert figures.requeued_s <= figures.bound_s + 1.0, report
    # it beat again soon after the link came back and consumed again, unrestarted,
    assert figures.rejoin_s < 10, report
    assert figures.processed_at_end > figures.processed_at_restore, report
    # and every effect happened exactly once
    assert figures.events >= 2_000, report
    assert not figures.failures, report

"""What the exporter tells the alerts about the scheduler and the month-end
closes, read from Redis at scrape time (on fakeredis and a real Redis)."""

from __future__ import annotations

from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from events import JST
from scheduler.lease import Lease
from subcycle import logs
from subcycle.bootstrap import App
from subcycle.cli import main
from subcycle.status import lease_status, month_end_status, period_end
from tests.support import open_on, purchase, run
from tests.test_billing import month_end

URL = ["--redis-url", "redis://the-test-app"]
STARTED = datetime(2026, 8, 1, 0, 0, 5, tzinfo=JST)


def lease(app: App, holder: str) -> Lease:
    return Lease(app.client, app.store.keys.scheduler_lease, holder, ttl_ms=60_000)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Samples:
    """One ``subcycle metrics --once``, as {(name, sorted labels): value}."""
    open_on(app, monkeypatch)
    logs.configure("console", "WARNING")
    assert main(["metrics", "--once", *URL]) == 0
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(capsys.readouterr().out)
        for s in family.samples
    }


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def test_a_billing_month_ends_at_midnight_jst_on_the_next_months_first() -> None:
    assert period_end("2026-06") == datetime(2026, 7, 1, tzinfo=JST)
    assert period_end("2026-06").timestamp() == 1782831600  # 2026-06-30T15:00:00Z
    assert period_end("2026-12") == datetime(2027, 1, 1, tzinfo=JST)


def test_the_lease_is_free_until_a_replica_takes_it_and_free_again_after_release(
    app: App,
) -> None:
    assert lease_status(app.client, app.store.keys).held is False
    replica = lease(app, "host-a:42:abcd")
    assert replica.hold()
    assert lease_status(app.client, app.store.keys).holder == "host-a:42:abcd"
    replica.release()
    assert lease_status(app.client, app.store.keys).holder is None


def test_before_any_close_nothing_is_closed_and_nothing_runs(app: App) -> None:
    status = month_end_status(app.store.billing)
    assert (status.last_closed, status.running) == (None, None)


def test_a_completed_close_is_the_last_closed_month_and_nothing_runs(app: App) -> None:
    run(app, purchase("S1"), month_end("2026-05"), month_end("2026-06"))
    status = month_end_status(app.store.billing)
    assert (status.last_closed, status.running) == ("2026-06", None)


def test_a_close_under_way_shows_its_month_and_shards_done_of_total(app: App) -> None:
    run(app, purchase("S1"), month_end("2026-06"))
    app.store.billing.register_close("2026-07", "run-7", STARTED)
    for shard in (0, 1, 2):
        app.store.billing.close_shard("2026-07", shard, "run-7")
    status = month_end_status(app.store.billing)
    assert status.last_closed == "2026-06"
    assert status.running is not None
    assert (status.running.period, status.running.done, status.running.total) == (
        "2026-07",
        3,
        64,
    )


def test_an_older_close_still_running_is_shown_even_after_a_newer_one_completed(
    app: App,
) -> None:
    """Catch-up closes of several months run side by side; the older one is
    the one holding its ledger back."""
    app.store.billing.register_close("2026-05", "run-5", STARTED)
    run(app, purchase("S1"), month_end("2026-06"))
    status = month_end_status(app.store.billing)
    assert status.last_closed == "2026-06"
    assert status.running is not None
    assert status.running.period == "2026-05"


def test_the_scrape_says_the_lease_is_held_and_by_whom(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    free = scrape(app, monkeypatch, capsys)
    assert free[("subcycle_scheduler_lease_held", ())] == 0
    assert "subcycle_scheduler_lease_holder_info" not in names(free)
    lease(app, "host-a:42:abcd").hold()
    held = scrape(app, monkeypatch, capsys)
    assert held[("subcycle_scheduler_lease_held", ())] == 1
    assert held[("subcycle_scheduler_lease_holder_info", (("holder", "host-a:42:abcd"),))] == 1


def test_the_scrape_gives_the_end_of_the_last_closed_month_as_a_unix_time(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    last = "subcycle_billing_last_closed_period_end_timestamp_seconds"
    assert last not in names(scrape(app, monkeypatch, capsys))
    run(app, purchase("S1"), month_end("2026-06"))
    out = scrape(app, monkeypatch, capsys)
    assert out[(last, (("period", "2026-06"),))] == 1782831600  # 2026-07-01T00:00+09:00
    assert "subcycle_billing_close_shards" not in names(out)


def test_the_scrape_shows_a_running_close_with_its_shards(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app.store.billing.register_close("2026-07", "run-7", STARTED)
    app.store.billing.close_shard("2026-07", 0, "run-7")
    out = scrape(app, monkeypatch, capsys)
    shards = "subcycle_billing_close_shards"
    assert out[(shards, (("period", "2026-07"), ("state", "done")))] == 1
    assert out[(shards, (("period", "2026-07"), ("state", "total")))] == 64
    running = "subcycle_billing_close_running_period_end_timestamp_seconds"
    assert out[(running, (("period", "2026-07"),))] == 1785510000  # 2026-08-01T00:00+09:00

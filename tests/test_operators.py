"""What operators see and do: queue depth, dead letters, the metrics scrape.

The commands run in-process through ``subcycle.cli.main`` on the test's app,
so they are proven on both backends."""

from __future__ import annotations

import json

import pytest

from subcycle import logs
from subcycle.bootstrap import App, core
from subcycle.cli import main
from subcycle.status import queue_depths
from tests.poison_support import put_raw
from tests.support import cancellation, open_on, purchase, run

URL = ["--redis-url", "redis://the-test-app"]


@pytest.fixture
def cli(app: App, monkeypatch: pytest.MonkeyPatch) -> App:
    """Every command opens the test's app instead of building its own."""
    open_on(app, monkeypatch)
    logs.configure("console", "WARNING")  # to stderr, as the commands do: stdout is data
    return app


def out_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main([*argv, "--json", *URL]) == 0
    return json.loads(capsys.readouterr().out)


def test_queues_json_counts_what_is_ready_on_each_queue(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.publisher.publish(
        [purchase("S1"), purchase("S2"), cancellation("S1", "2026-06-15T20:30:00+09:00")]
    )
    rows = out_json(capsys, "queues")
    assert isinstance(rows, list)
    by_queue = {r["queue"]: r for r in rows}
    assert by_queue["lifecycle"]["ready"] == 2
    assert by_queue["cancellations"]["ready"] == 1
    for row in rows:
        assert {"queue", "ready", "delayed", "in_progress", "dead_lettered"} <= row.keys()
    assert by_queue["lifecycle"]["oldest_ready_age_s"] is not None


def test_queues_counts_a_dead_workers_fetched_messages_as_in_progress(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = cli.broker.namespace
    cli.client.zadd(f"{ns}:__heartbeats__", {"dead-worker": 1})
    cli.client.sadd(f"{ns}:__acks__.dead-worker.billing", "m1", "m2")
    rows = out_json(capsys, "queues")
    assert isinstance(rows, list)
    assert {r["queue"]: r["in_progress"] for r in rows}["billing"] == 2


def test_queues_watch_draws_the_table(cli: App, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queues", "--watch", "--count", "1", "--interval", "0.01", *URL]) == 0
    out = capsys.readouterr().out
    assert "in_progress" in out
    assert "cancellations" in out


def test_a_dead_lettered_event_is_listed_with_its_reason_and_time(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(cli, cancellation("S404", "2026-06-01T09:00:00+09:00"))
    [letter] = out_json(capsys, "dead-letters", "list")  # type: ignore[misc]
    assert letter["reason"] == "unknown_subscription"
    assert letter["type"] == "CancellationRequested"
    assert letter["queue"] == "cancellations"
    assert letter["in_dead_letter_queue"] is True
    assert letter["recorded"] is True
    assert letter["at"].endswith("+09:00")


def test_a_business_refusal_is_listed_from_the_durable_record(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(cli, purchase("A1", plan="annual"), cancellation("A1", "2026-06-01T09:00:00+09:00"))
    [letter] = out_json(capsys, "dead-letters", "list")  # type: ignore[misc]
    assert (letter["reason"], letter["recorded"]) == ("not_monthly", True)
    assert main(["dead-letters", "retry", letter["id"], *URL]) == 0
    assert "already_done" in capsys.readouterr().out
    assert len(cli.store.refusals.list()) == 1


def test_a_retried_event_whose_purchase_has_since_arrived_takes_effect(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(cli, cancellation("S7", "2026-06-15T20:30:00+09:00"))
    [letter] = out_json(capsys, "dead-letters", "list")  # type: ignore[misc]
    assert letter["reason"] == "unknown_subscription"
    run(cli, purchase("S7"))

    assert main(["dead-letters", "retry", letter["id"], *URL]) == 0
    assert "republished" in capsys.readouterr().out
    run(cli)

    sub = cli.store.subscriptions.get("S7")
    assert sub is not None
    assert sub.license_type == "Cancelled"
    assert out_json(capsys, "dead-letters", "list") == []


def test_a_retried_event_that_is_still_bad_is_refused_again_never_lost(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(cli, cancellation("S404", "2026-06-01T09:00:00+09:00"))
    [before] = out_json(capsys, "dead-letters", "list")  # type: ignore[misc]
    assert main(["dead-letters", "retry", "--all", "--yes", *URL]) == 0
    capsys.readouterr()
    run(cli)
    [after] = out_json(capsys, "dead-letters", "list")  # type: ignore[misc]
    assert after["event_id"] == before["event_id"]
    assert after["reason"] == "unknown_subscription"
    assert after["in_dead_letter_queue"] is True


def test_a_retried_poison_message_is_moved_aside_again(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    put_raw(cli, "otp", b"\xff\xfe garbage")
    run(cli)
    [letter] = out_json(capsys, "dead-letters", "list", "--queue", "otp")  # type: ignore[misc]
    assert main(["dead-letters", "retry", letter["id"], *URL]) == 0
    assert "requeued" in capsys.readouterr().out
    run(cli)
    [again] = out_json(capsys, "dead-letters", "list", "--queue", "otp")  # type: ignore[misc]
    assert again["reason"] == "undecodable"


def test_a_bulk_purge_asks_first_and_does_nothing_unconfirmed(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(cli, cancellation("S404", "2026-06-01T09:00:00+09:00"))
    assert main(["dead-letters", "purge", "--all", *URL]) == 1
    assert "not confirmed" in capsys.readouterr().err
    assert len(cli.store.refusals.list()) == 1

    assert main(["dead-letters", "purge", "--queue", "cancellations", "--yes", *URL]) == 0
    capsys.readouterr()
    assert cli.store.refusals.list() == []
    assert out_json(capsys, "dead-letters", "list") == []
    assert cli.client.zcard(f"{cli.broker.namespace}:cancellations.XQ") == 0


def test_an_unknown_dead_letter_id_is_a_clear_refusal(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dead-letters", "retry", "nope", *URL]) == 1
    assert "unknown dead letter 'nope'" in capsys.readouterr().err


def test_the_metrics_scrape_reports_queue_depth_per_state(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.publisher.publish([purchase("S1")])
    assert main(["metrics", "--once", *URL]) == 0
    out = capsys.readouterr().out
    assert 'subcycle_queue_messages{queue="lifecycle",state="ready"} 1.0' in out
    assert "subcycle_workers_live" in out


def test_a_refusal_outlives_dramatiqs_dead_letter_and_can_still_be_retried(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(cli, cancellation("S8", "2026-06-15T20:30:00+09:00"))
    xq = f"{cli.broker.namespace}:cancellations.XQ"
    cli.client.delete(xq, f"{xq}.msgs")  # what Dramatiq's 7-day retention does
    [letter] = out_json(capsys, "dead-letters", "list")  # type: ignore[misc]
    assert letter["in_dead_letter_queue"] is False
    assert letter["reason"] == "unknown_subscription"

    run(cli, purchase("S8"))
    assert main(["dead-letters", "retry", letter["id"], *URL]) == 0
    capsys.readouterr()
    run(cli)
    sub = cli.store.subscriptions.get("S8")
    assert sub is not None
    assert sub.license_type == "Cancelled"


def test_a_retried_event_is_dead_lettered_once_not_once_per_copy(
    cli: App, capsys: pytest.CaptureFixture[str]
) -> None:
    """RetryThroughOutage must see the retry Dramatiq enqueued, or every
    failure would also enqueue a copy of its own."""
    report = run(cli, cancellation("S404", "2026-06-01T09:00:00+09:00"))
    assert report.counts["retried"] == cli.settings.unknown_subscription_retries
    assert cli.client.zcard(f"{cli.broker.namespace}:cancellations.XQ") == 1
    [letter] = out_json(capsys, "dead-letters", "list")  # type: ignore[misc]
    assert letter["recorded"] is True


def test_a_stopped_worker_is_no_longer_counted_but_its_heartbeat_stays_for_maintenance(
    app: App,
) -> None:
    run(app, purchase("S1"))  # real Dramatiq workers, stopped at the end
    depths = queue_depths(core(app.settings, client=app.client))
    assert {d.workers for d in depths} == {0}
    heartbeats = f"{app.settings.queue_namespace}:__heartbeats__"
    # Still listed, dated back: the next maintenance requeues what it held.
    assert app.client.zscore(heartbeats, app.broker.broker_id) == 0


def test_a_worker_counts_live_on_the_queues_it_consumes_only(app: App) -> None:
    from subcycle.status import live_workers
    from workers.transport.recovery import maintain, retire

    maintain(app.broker, ["otp"])  # a worker started with --queues otp beats
    rows = {d.queue: d.workers for d in queue_depths(app.core)}
    assert rows == {"lifecycle": 0, "cancellations": 0, "billing": 0, "otp": 1, "notifications": 0}
    assert live_workers(app.core) == 1
    retire(app.broker)  # a clean shutdown leaves every queue at once
    assert {d.workers for d in queue_depths(app.core)} == {0}
    assert live_workers(app.core) == 0

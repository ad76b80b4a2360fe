"""``subcycle import``: the lifecycle events of existing contracts applied in
bulk have the outcome of publishing them and draining (a differential test
over random histories, on fakeredis and on the real Redis), with publish's
edge, idempotency by event id, and nothing imported from a bad file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import JST, BillingCycleClosed, Event
from subcycle.bootstrap import App, importer
from subcycle.cli import main
from subcycle.commands.publish import line_named
from subcycle.views import license_json
from tests.support import cancellation, consent, open_on, purchase, run
from workers.import_run import Target, import_lines
from workers.importer import ImportReport, Withheld

PERIOD = "2026-06"


def imported(
    app: App, events: list[Event], processes: int = 1, *, bulk: bool = True
) -> ImportReport:
    """What ``subcycle import`` does with a file of ``events`` (``bulk``:
    whole histories at once, else the twin path, event by event)."""
    return import_lines(
        numbered(lines(*events)),
        into(app),
        line_named,
        processes=processes,
        threads=4,
        bulk=bulk,
    )


def into(app: App) -> Target:
    return Target(
        open=lambda: None,
        claims=lambda: app.publisher,
        deps=lambda: importer(app.core, Withheld()),
    )


def numbered(text: str) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def close(app: App) -> list[tuple[str, str, int]]:
    """Close June in this world, through its workers; its charges."""
    run(
        app,
        BillingCycleClosed(
            event_id=f"ops-close-{PERIOD}",
            occurred_at=datetime(2026, 7, 1, 9, tzinfo=JST),
            period=PERIOD,
        ),
    )
    return sorted(
        (c.subscription_id, c.phone, c.amount_jpy) for c in app.store.ledger.charges(PERIOD)
    )


def snapshot(app: App, events: list[Event]) -> dict[str, Any]:
    """Everything an event can change, seen through the store's port."""
    subs = sorted({getattr(e, "subscription_id", "") for e in events})
    licenses = {}
    for sid in subs:
        sub = app.store.subscriptions.get(sid)
        licenses[sid] = None if sub is None else license_json(sub)
    # The events a worker dead-letters. A rule's refusal (not_monthly, …) is
    # in the history above, as the fold judges it whatever the order; its
    # refused-events record says how it stood when a worker handled it, and
    # publish and drain handle two queues in no fixed order.
    refusals = sorted(
        (r.event_id, r.type, r.queue, r.reason, r.detail, json.dumps(r.payload))
        for r in app.store.refusals.list()
        if r.dead_lettered
    )
    return {
        "licenses": licenses,
        "event records": {e.event_id: app.store.events.status(e.event_id) for e in events},
        "refusals": refusals,
        "term ends due": sorted(app.store.expiry.term_ends_due(date(2199, 12, 31), 10_000)),
    }


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    """A few subscriptions' purchases, consents and cancellations at random
    times (some before the purchase, some after the term), now and then a
    subscription with no purchase or an event given twice, in any order."""
    events: list[Event] = []
    for s in range(draw(st.integers(1, 3))):
        sid = f"S{s}"
        start = draw(st.dates(date(2025, 1, 1), date(2026, 6, 30)))
        if s == 0 or draw(st.integers(0, 5)):
            annual = draw(st.booleans())
            years = {"term_years": draw(st.integers(1, 3))} if annual else {}
            events.append(
                purchase(
                    sid,
                    event_id=f"{sid}-buy",
                    plan="annual" if annual else "monthly",
                    starts_on=start.isoformat(),
                    phone=f"+8190{10_000_000 + s}",
                    locale=draw(st.sampled_from(["ja", "en"])),
                    **years,
                )
            )
        for k in range(draw(st.integers(0, 3))):
            day = start + timedelta(days=draw(st.integers(-5, 800)))
            at = datetime.combine(day, time(draw(st.integers(0, 23)), 30), JST).isoformat()
            what = draw(st.sampled_from(["consent", "monthly_service", "auto_renewal"]))
            eid = f"{sid}-{k}"
            events.append(
                consent(sid, at, event_id=eid)
                if what == "consent"
                else cancellation(sid, at, what, event_id=eid)
            )
    if draw(st.booleans()):
        events.append(events[draw(st.integers(0, len(events) - 1))])  # the same event again
    return list(draw(st.permutations(events)))


@pytest.fixture
def worlds(make_app: Callable[..., App], unique: str) -> Callable[[], tuple[App, App]]:
    """Two stores side by side on the same server, fresh for each example:
    one fed by publish and the workers, one by import."""

    def make() -> tuple[App, App]:
        run_id = uuid.uuid4().hex[:6]
        return tuple(  # type: ignore[return-value]
            make_app(
                key_prefix=f"t{unique}:{run_id}{w}:", queue_namespace=f"tq{unique}:{run_id}{w}"
            )
            for w in ("p", "i")
        )

    return make


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "event-by-event"])
def test_importing_a_history_has_the_outcome_of_publishing_it_and_draining(
    worlds: Callable[[], tuple[App, App]], backend: str, bulk: bool, history: list[Event]
) -> None:
    published, imports = worlds()
    run(published, *history)
    # The real Redis also proves the split over forked processes.
    report = imported(imports, history, processes=2 if backend == "redis" else 1, bulk=bulk)

    assert snapshot(imports, history) == snapshot(published, history)
    assert report.handled == len(history)
    # Importing the file again changes nothing: every event is a duplicate
    # or refused again, as it was.
    again = imported(imports, history, bulk=bulk)
    assert again.applied == 0
    assert again.ruled == 0
    assert sorted(r.reason for r in again.refused) == sorted(r.reason for r in report.refused)
    assert snapshot(imports, history) == snapshot(published, history)
    # And the two worlds bill alike.
    assert close(imports) == close(published)


def test_an_imported_event_published_again_is_a_duplicate(app: App) -> None:
    history = [purchase("S1", event_id="buy-1"), cancellation("S1", "2026-06-30T23:59:59+09:00")]
    assert imported(app, history).applied == 2

    result = app.publisher.publish(history)

    assert (result.enqueued, result.duplicates) == (0, 2)


def test_an_import_sends_no_message_and_says_so(
    app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_on(app, monkeypatch)
    path = tmp_path / "go-live.jsonl"
    path.write_text(lines(purchase("S1", event_id="buy-1", plan="annual", starts_on="2025-08-01")))

    assert main(["import", str(path), "--processes", "1"]) == 0

    out, err = capsys.readouterr()
    assert err == ""  # no progress bar when stderr is not a terminal
    assert "imported 1 event(s): 1 applied" in out
    assert "no message sent" in out
    assert app.store.subscriptions.get("S1") is not None


# The file, as publish judges it ------------------------------------------------


def lines(*events: Event | dict[str, Any]) -> str:
    return "".join(
        json.dumps(e if isinstance(e, dict) else e.wire(), ensure_ascii=False) + "\n"
        for e in events
    )


def said(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line.strip() for line in capsys.readouterr().err.splitlines()[1:]]


def test_a_bad_file_imports_nothing_and_names_each_bad_line_as_publish_does(
    app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_on(app, monkeypatch)
    good = purchase("S1", event_id="buy-1").wire()
    bad_phone = {**good, "event_id": "buy-2", "subscription_id": "S2", "phone": "050-1234-5678"}
    naive = {**cancellation("S1", "2026-06-30T15:00:00Z").wire(), "occurred_at": "2026-06-30T15:00"}
    path = tmp_path / "go-live.jsonl"
    path.write_text(lines(good, bad_phone) + "not json\n" + lines(naive))

    assert main(["publish", str(path)]) == 1
    by_publish = said(capsys)
    assert main(["import", str(path), "--processes", "1"]) == 1
    err = capsys.readouterr().err

    assert err.startswith("subcycle import: refused, nothing imported:")
    assert [line.strip() for line in err.splitlines()[1:]] == by_publish
    assert [line.split(":")[0] for line in by_publish] == ["line 2", "line 3", "line 4"]
    assert app.store.subscriptions.get("S1") is None
    assert app.store.events.status("buy-1") is None


def test_events_that_are_not_a_contracts_are_refused_naming_their_line(
    app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_on(app, monkeypatch)
    tick = {"type": "ExpiryTick", "event_id": "ops-1", "occurred_at": "2026-07-02T10:00:00+09:00"}
    close_ = {**tick, "type": "BillingCycleClosed", "event_id": "ops-2", "period": "2026-06"}
    code = {
        "type": "OtpRequested",
        "event_id": "login-1",
        "occurred_at": "2026-07-01T12:00:00+09:00",
        "phone": "090-1234-5678",
        "channel": "sms",
    }
    path = tmp_path / "go-live.jsonl"
    path.write_text(lines(purchase("S1", event_id="buy-1"), tick, close_, code))

    assert main(["import", str(path), "--processes", "1"]) == 1

    problems = said(capsys)
    assert [p.split(": type: ")[0] for p in problems] == ["line 2", "line 3", "line 4"]
    assert "ExpiryTick is not a contract's event" in problems[0]
    assert app.store.subscriptions.get("S1") is None


def test_an_id_published_before_with_other_content_is_refused_naming_its_line(
    app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_on(app, monkeypatch)
    app.publisher.publish([purchase("S1", event_id="buy-1")])
    path = tmp_path / "go-live.jsonl"
    path.write_text(lines(purchase("S2", event_id="buy-2"), purchase("S3", event_id="buy-1")))

    assert main(["import", str(path), "--processes", "1"]) == 1

    (problem,) = said(capsys)
    assert problem.startswith("line 2: event_id: event_id_reused")
    assert app.store.subscriptions.get("S2") is None


def test_an_event_its_worker_would_refuse_is_recorded_refused_and_named(
    app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_on(app, monkeypatch)
    path = tmp_path / "go-live.jsonl"
    path.write_text(
        lines(purchase("S1", event_id="buy-1"), cancellation("S9", "2026-06-30T12:00:00+09:00"))
    )

    assert main(["import", str(path), "--processes", "1"]) == 1

    (problem,) = said(capsys)
    assert problem.startswith("line 2: unknown_subscription")
    assert [r.reason for r in app.store.refusals.list()] == ["unknown_subscription"]
    assert app.store.subscriptions.get("S1") is not None


def test_a_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "/nonexistent/go-live.jsonl"]) == 2
    assert capsys.readouterr().err.strip().startswith("subcycle import: error: cannot read")


def test_redis_down_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "go-live.jsonl"
    path.write_text(lines(purchase("S1", event_id="buy-1")))
    monkeypatch.setenv("SUBCYCLE_REDIS_URL", "redis://127.0.0.1:1/0")

    assert main(["import", str(path)]) == 1

    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("subcycle import: cannot reach Redis")


def test_the_real_command_splits_over_processes_and_a_second_run_changes_nothing(
    cli_env: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "go-live.jsonl"
    history = [
        purchase(f"S{i}", event_id=f"buy-{i}", phone=f"+8190{10_000_000 + i}") for i in range(40)
    ]
    path.write_text(lines(*history, cancellation("S3", "2026-06-30T12:00:00+09:00")))

    assert main(["import", str(path), "--processes", "2"]) == 0
    assert "41 applied" in capsys.readouterr().out
    assert main(["import", str(path), "--processes", "2"]) == 0
    assert "0 applied, 41 duplicate(s)" in capsys.readouterr().out
    assert main(["license", "S3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["license_type"] == "Cancelled"


def _counts(report: ImportReport) -> tuple[object, ...]:
    refused = sorted(report.refused, key=lambda r: r.position)
    return report.applied, report.duplicates, report.ruled, report.withheld, refused


def stored(client: redis.Redis, prefix: str) -> dict[str, Any]:
    """Every key under ``prefix`` and what it holds (a refusal's time aside)."""
    found: dict[str, Any] = {}
    for raw in client.scan_iter(match=f"{prefix}*", count=1000):
        key = raw.decode()
        kind = client.type(key).decode()
        name = key.removeprefix(prefix)
        if kind == "hash":
            value: Any = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
            if name == "refused":
                value = {k: {**json.loads(v), "refused_at": None} for k, v in value.items()}
        elif kind == "zset":
            value = sorted(client.zrange(key, 0, -1, withscores=name != "refused:by_time"))
        elif kind == "set":
            value = sorted(client.smembers(key))
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        else:
            value = client.get(key)
        found[name] = (kind, value)
    return found


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_a_history_loaded_at_once_leaves_the_store_as_event_by_event_does(
    worlds: Callable[[], tuple[App, App]], client: redis.Redis, history: list[Event]
) -> None:
    by_event, at_once = worlds()

    twin = imported(by_event, history, bulk=False)
    bulk = imported(at_once, history, bulk=True)

    assert _counts(bulk) == _counts(twin)
    assert stored(client, at_once.settings.key_prefix) == stored(
        client, by_event.settings.key_prefix
    )
    # The same file again: the histories the store holds whole are answered
    # as duplicates in the batch, the rest event by event, as the twin does.
    twin = imported(by_event, history, bulk=False)
    bulk = imported(at_once, history, bulk=True)
    assert _counts(bulk) == _counts(twin)
    assert bulk.duplicates == twin.duplicates > 0
    assert stored(client, at_once.settings.key_prefix) == stored(
        client, by_event.settings.key_prefix
    )

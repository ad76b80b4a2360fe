"""Malformed and hostile input, generated: through ``subcycle publish``, as
well-formed Dramatiq messages straight onto each queue, and as undecodable
bytes. Every one is refused or moved aside with a reason, none is retried,
and no record changes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import QUEUE_OF
from subcycle import logs
from subcycle.bootstrap import App
from subcycle.cli import main
from tests.poison_support import put_message, put_raw, state_of, unacked
from tests.processes import run_command
from tests.support import open_on, purchase, run

URL = ["--redis-url", "redis://the-test-app"]
QUEUE_BY_TYPE = {t.__name__: q.value for t, q in QUEUE_OF.items()}

# One valid event of each type; the mutations below make each one bad.
VALID: dict[str, dict[str, Any]] = {
    "SubscriptionPurchased": purchase("S1").wire(),
    "RenewalConsentGiven": {"subscription_id": "S1"},
    "CancellationRequested": {"subscription_id": "S1", "kind": "monthly_service"},
    "OtpRequested": {"phone": "+819012345678", "channel": "sms"},
    "MobileNumberRegistrationSubmitted": {
        "phone": "+819012345678",
        "phone_confirmation": "+819012345678",
        "channel": "voice",
    },
    "ExpiryTick": {},
    "SubscriptionExpiringSoon": {
        "subscription_id": "S1",
        "expires_on": "2026-07-31",
        "days_left": 30,
    },
    "AnnualTermEnded": {"subscription_id": "S1", "expires_on": "2026-07-31"},
    "BillingCycleClosed": {"period": "2026-06"},
}
OPTIONAL = {"locale", "resend", "term_years"}
ODD_DIGITS = "٠١٢٣٤٥٦٧٨٩०१२३४५६७८९০১২৩৪৫৬৭৮৯"  # Arabic-Indic, Devanagari, Bengali


def valid(type_: str, event_id: str) -> dict[str, Any]:
    base = {k: v for k, v in VALID[type_].items() if k not in {"type", "event_id", "occurred_at"}}
    return {"type": type_, "event_id": event_id, "occurred_at": "2026-06-01T09:00:00+09:00", **base}


@st.composite
def bad_events(draw: st.DrawFn) -> tuple[dict[str, Any] | list[Any] | str, str]:
    """A bad event and the field its refusal must name."""
    type_ = draw(st.sampled_from(sorted(VALID)))
    event = valid(type_, draw(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True)))
    fields = [k for k in event if k != "type"]
    how = draw(
        st.sampled_from(
            ["wrong_type", "missing", "extra", "naive", "huge", "odd_digits", "unknown_type"]
        )
    )
    if how == "wrong_type":
        name = draw(st.sampled_from(fields))
        # Objects and lists are wrong for every field; None, floats and
        # booleans only where the field is neither optional nor a flag.
        pool: list[object] = [{"x": 1}, [1]]
        if name not in OPTIONAL:
            pool += [None, 1.5, True]
        event[name] = draw(st.sampled_from(pool))
        if name == "monthly_fee_jpy":
            event[name] = draw(st.sampled_from(["550", 550.5, None]))
        return event, name
    if how == "missing":
        name = draw(st.sampled_from([f for f in fields if f not in OPTIONAL]))
        del event[name]
        return event, name
    if how == "extra":
        name = draw(st.from_regex(r"zz_[a-z]{1,10}", fullmatch=True))
        event[name] = draw(st.text(max_size=20))
        return event, name
    if how == "naive":
        event["occurred_at"] = "2026-06-01T09:00:00"
        return event, "occurred_at"
    if how == "huge":
        name = draw(st.sampled_from(["event_id", *[f for f in fields if f.endswith("_id")]]))
        event[name] = "x" * draw(st.integers(129, 200_000))
        return event, name
    if how == "odd_digits":
        digits = draw(st.text(alphabet=ODD_DIGITS, min_size=11, max_size=11))
        event["phone"] = digits
        return event, "phone"
    event["type"] = draw(
        st.from_regex(r"[A-Z][a-zA-Z]{0,20}", fullmatch=True).filter(lambda t: t not in VALID)
    )
    return event, "type"


FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def cli(app: App, monkeypatch: pytest.MonkeyPatch) -> App:
    open_on(app, monkeypatch)
    logs.configure("console", "WARNING")  # to stderr, as the commands do: stdout is data
    return app


def ready_messages(app: App) -> int:
    return sum(
        int(app.client.llen(f"{app.broker.namespace}:{q}")) for q in set(QUEUE_BY_TYPE.values())
    )


@FAST
@given(bad=bad_events(), good_first=st.booleans())
def test_publish_refuses_a_bad_event_naming_its_line_and_field_and_enqueues_nothing(
    cli: App, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: Any, good_first: bool
) -> None:
    event, field = bad
    good = json.dumps(valid("CancellationRequested", "fine-1"))
    lines = [good, json.dumps(event)] if good_first else [json.dumps(event)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = state_of(cli)

    assert main(["publish", str(path), *URL]) == 1

    err = capsys.readouterr().err
    assert f"line {len(lines)}: {field}" in err
    assert "Traceback" not in err
    assert ready_messages(cli) == 0
    assert state_of(cli) == before


@FAST
@given(text=st.text(max_size=200).filter(lambda t: t.strip() and not _is_object(t)))
def test_publish_refuses_a_line_that_is_not_a_json_object(
    cli: App, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(text.replace("\n", " ").replace("\r", " ") + "\n", encoding="utf-8")
    assert main(["publish", str(path), *URL]) == 1
    err = capsys.readouterr().err
    assert "line 1: event:" in err
    assert ready_messages(cli) == 0


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(bad_events(), min_size=1, max_size=6))
def test_hostile_arguments_straight_onto_each_queue_are_refused_never_retried(
    app: App, batch: list[Any]
) -> None:
    before = state_of(app)
    known = {r.refusal_id for r in app.store.refusals.list()}
    for event, _field in batch:
        type_ = event.get("type") if isinstance(event, dict) else None
        actor = type_ if type_ in QUEUE_BY_TYPE else "CancellationRequested"
        put_message(app, QUEUE_BY_TYPE[actor], actor, [event])

    report = run(app)

    fresh = [r for r in app.store.refusals.list() if r.refusal_id not in known]
    assert len(fresh) == len(batch)
    assert all(r.reason == "invalid_event" and r.detail for r in fresh)
    assert report.counts["retried"] == 0
    assert unacked(app) == 0
    assert state_of(app) == before


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(blobs=st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=6))
def test_undecodable_bytes_on_any_queue_are_moved_aside_with_a_reason(
    app: App, blobs: list[bytes]
) -> None:
    before = state_of(app)
    queues = sorted(set(QUEUE_BY_TYPE.values()))
    rids = {put_raw(app, queues[i % len(queues)], blob) for i, blob in enumerate(blobs)}

    report = run(app)

    moved = {r.redis_message_id: r for r in app.store.refusals.list() if r.redis_message_id in rids}
    assert set(moved) == rids
    assert all(r.reason for r in moved.values())
    assert report.counts["retried"] == 0
    assert unacked(app) == 0
    assert state_of(app) == before


@pytest.mark.slow
def test_the_real_command_refuses_a_bad_file_with_exit_1_and_no_traceback(tmp_path: Path) -> None:
    """One real process: the console script as upstream systems call it."""
    path = tmp_path / "bad.jsonl"
    bad = valid("CancellationRequested", "c1") | {"occurred_at": "2026-06-01T09:00:00"}
    path.write_text(json.dumps(bad) + "\n{nope\n", encoding="utf-8")
    env = {**os.environ, "SUBCYCLE_REDIS_URL": "redis://127.0.0.1:1/0"}
    done = run_command([sys.executable, "-m", "subcycle.cli", "publish", str(path)], env)
    assert done.returncode == 1
    assert "line 1: occurred_at" in done.stderr
    assert "line 2: event: not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr

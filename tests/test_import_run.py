"""``subcycle import`` over several processes, each judging the lines it will
apply, says what one process judging the whole file says: the same lines
refused with the same words (random files with bad lines, repeated ids in
one subscription and across subscriptions, events that are not a
contract's, and subscription ids written with escapes, so the text sends a
line to the wrong process), and leaves the store as it leaves it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subcycle.bootstrap import build
from subcycle.commands.publish import line_named
from subcycle.settings import Settings
from tests.conftest import Clock, delete_prefixed, real_redis_or_skip
from tests.support import purchase
from tests.test_import import into, numbered, stored
from workers.import_run import Target, import_lines, share_of, share_of_line
from workers.importer import ImportReport
from workers.ingest import Refused

SUBSCRIPTIONS = [f"S{k}" for k in range(5)]
IDS = [f"e{k}" for k in range(6)]


class _Passed(Exception):
    """The file passed every check: the import opened the store."""


def _passes() -> None:
    raise _Passed


NO_STORE = Target(open=_passes, claims=lambda: None, deps=lambda: None)  # type: ignore[arg-type, return-value]


def verdict(lines: list[tuple[int, str]], processes: int) -> object:
    """What the import says of the file, up to opening the store."""
    try:
        import_lines(lines, NO_STORE, line_named, processes=processes, threads=1)
    except Refused as e:
        return [(p.position, str(p.problem), p.reason) for p in e.problems]
    except _Passed:
        return "passed"
    raise AssertionError("an import of a file that passed opened no store")


def escaped(text: str, sid: str) -> str:
    """``text`` with its subscription id's first letter written as a JSON escape."""
    return text.replace(
        f'"subscription_id": "{sid}"', f'"subscription_id": "\\u{ord(sid[0]):04x}{sid[1:]}"'
    )


@st.composite
def files(draw: st.DrawFn) -> list[tuple[int, str]]:
    out: list[str] = []
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["buy", "buy", "cancel", "consent", "bad", "tick", "blank"]))
        sid = draw(st.sampled_from(SUBSCRIPTIONS))
        eid = draw(st.sampled_from(IDS))
        at = f"2026-0{draw(st.integers(1, 9))}-1{draw(st.integers(0, 9))}T10:00:00+09:00"
        record: dict[str, Any]
        if kind == "buy":
            record = {**purchase(sid).wire(), "event_id": eid}
            record["monthly_fee_jpy"] = draw(st.sampled_from([550, 330]))
        elif kind in ("cancel", "consent"):
            record = {
                "type": "CancellationRequested" if kind == "cancel" else "RenewalConsentGiven",
                "event_id": eid,
                "occurred_at": at,
                "subscription_id": sid,
            }
            if kind == "cancel":
                record["kind"] = "monthly_service"
        elif kind == "tick":
            record = {"type": "ExpiryTick", "event_id": eid, "occurred_at": at}
        elif kind == "bad":
            out.append(draw(st.sampled_from(["not json", '{"type": "Nope"}', "[1]"])))
            continue
        else:
            out.append("   ")
            continue
        text = json.dumps(record)
        out.append(escaped(text, sid) if draw(st.booleans()) else text)
    return numbered("\n".join(out))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=files(), processes=st.integers(2, 3))
def test_processes_judging_their_shares_refuse_what_one_process_refuses(
    lines: list[tuple[int, str]], processes: int
) -> None:
    assert verdict(lines, processes) == verdict(lines, 1)


def test_an_escaped_subscription_id_can_send_a_line_to_another_process_first() -> None:
    """The case the shares must repair: the text names one process, the
    parsed event another (so the test above meets it)."""
    wrong = [
        sid
        for sid in SUBSCRIPTIONS
        if share_of_line(escaped(json.dumps(purchase(sid).wire()), sid), 2) != share_of(sid, 2)
    ]
    assert wrong != []


def test_an_id_two_subscriptions_use_is_refused_naming_the_first_line() -> None:
    a = json.dumps({**purchase("S1").wire(), "event_id": "buy"})
    b = json.dumps({**purchase("S4").wire(), "event_id": "buy"})
    assert share_of("S1", 2) != share_of("S4", 2)  # the two lines are judged apart

    (problem,) = verdict([(1, a), (2, b)], 2)  # type: ignore[misc]

    assert problem[:2] == (2, "event_id: event_id_reused (line 1 has 'buy' with another payload)")


# The store, with each step for real --------------------------------------------


def counts(report: ImportReport) -> tuple[object, ...]:
    refused = sorted((r.position, r.reason, r.detail) for r in report.refused)
    return report.applied, report.duplicates, report.ruled, report.withheld, refused


@pytest.fixture
def real(unique: str) -> Iterator[redis.Redis]:
    """The real Redis: forked processes share only a server."""
    client = real_redis_or_skip()
    yield client
    delete_prefixed(client, f"t{unique}:", f"tq{unique}:")


def test_shares_leave_the_store_as_one_process_does(
    real: redis.Redis, settings: Settings, clock: Clock, unique: str
) -> None:
    one, many = (
        build(
            settings.model_copy(
                update={"key_prefix": f"t{unique}:{w}:", "queue_namespace": f"tq{unique}:{w}"}
            ),
            client=real,
            clock=clock,
        )
        for w in "om"
    )
    records = []
    for k in range(60):
        sid = f"S{k:02d}"
        buy = json.dumps(
            {**purchase(sid, phone=f"+8190{10_000_000 + k}").wire(), "event_id": f"b{k}"}
        )
        records.append(escaped(buy, sid) if k % 3 == 0 else buy)
        if k % 4 == 0:
            cancel = {
                "type": "CancellationRequested",
                "event_id": f"c{k}",
                "occurred_at": "2026-06-30T12:00:00+09:00",
                "subscription_id": sid,
                "kind": "monthly_service",
            }
            records.append(escaped(json.dumps(cancel), sid) if k % 8 == 0 else json.dumps(cancel))
    records.append(records[1])  # an event given twice
    records.append(  # a cancellation of a subscription the file does not buy
        json.dumps(
            {
                "type": "CancellationRequested",
                "event_id": "c-none",
                "occurred_at": "2026-06-30T12:00:00+09:00",
                "subscription_id": "S99",
                "kind": "monthly_service",
            }
        )
    )
    lines = numbered("\n".join(records))

    twin = import_lines(lines, into(one), line_named, processes=1, threads=2)
    shared = import_lines(lines, into(many), line_named, processes=3, threads=2)

    assert counts(shared) == counts(twin)
    assert stored(real, many.settings.key_prefix) == stored(real, one.settings.key_prefix)

    # An id published before with other content: the same refusal, nothing written.
    reuse = json.dumps({**purchase("S77").wire(), "event_id": "b5"})
    more = numbered("\n".join([json.dumps({**purchase("S78").wire(), "event_id": "n1"}), reuse]))
    said = []
    for app, processes in ((one, 1), (many, 2)):
        with pytest.raises(Refused) as refused:
            import_lines(more, into(app), line_named, processes=processes, threads=1)
        said.append([(p.position, str(p.problem)) for p in refused.value.problems])
        assert app.store.subscriptions.get("S78") is None
    assert said[0] == said[1] != []

"""A billing index entry is marked (``*``: it may owe a catch-up charge) only
when it covers a month whose close has started (store.billing.Span.may_owe),
and a close that starts between a writer's read and its commit makes the
writer fold again, so an unmarked entry never misses one."""

from __future__ import annotations

from typing import Any

import pytest

from store import codec, subscriptions
from store.billing import bucket_of
from store.calendar import period_index
from store.text import text
from subcycle.bootstrap import App
from tests.support import purchase, run
from tests.test_billing import month_end
from tests.test_import import imported


def entry(app: App, sid: str) -> str:
    keys = app.store.billing.keys
    raw: Any = app.client.hgetall(app.store.keys.subscription(sid))
    level = codec.level_of({text(k): text(v) for k, v in raw.items()})
    value: Any = app.client.hget(keys.spans(bucket_of(sid, level)), sid)
    return value.decode() if isinstance(value, bytes) else str(value)


def test_no_entry_is_marked_before_any_close_has_started(app: App) -> None:
    run(app, purchase("S1", starts_on="2026-05-01"))
    imported(app, [purchase("S2", starts_on="2026-05-01")])

    assert not entry(app, "S1").endswith("*")
    assert not entry(app, "S2").endswith("*")


@pytest.mark.parametrize("door", ["worker", "import"])
def test_an_entry_covering_a_closed_month_is_marked_and_caught_up(app: App, door: str) -> None:
    run(app, purchase("S1", starts_on="2026-05-01"), month_end("2026-06"))
    late = purchase("S2", starts_on="2026-05-01", at="2026-07-02T10:00:00+09:00")
    later = purchase("S3", starts_on="2026-07-01", at="2026-07-02T10:00:00+09:00")
    if door == "worker":
        run(app, late, later)
    else:
        imported(app, [late, later])

    assert entry(app, "S2").endswith("*")  # it owes June
    assert not entry(app, "S3").endswith("*")  # it starts after every closed month

    run(app, month_end("2026-07"))
    assert app.store.ledger.count("2026-06") == 2  # S2 caught up for June
    assert app.store.ledger.count("2026-07") == 3
    assert not entry(app, "S2").endswith("*")


@pytest.mark.parametrize("door", ["worker", "import"])
def test_a_close_started_between_the_read_and_the_commit_makes_the_writer_fold_again(
    app: App, door: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(app, purchase("S0", starts_on="2026-05-01"))
    read = subscriptions.latest_close
    reads: list[int | None] = []

    def a_close_starts_right_after_the_first_read(raw: Any) -> int | None:
        seen = read(raw)
        if not reads:  # the close of June registers before the commit
            app.store.billing.register_close("2026-06", "run-1", app.deps.clock())
        reads.append(seen)
        return seen

    monkeypatch.setattr(subscriptions, "latest_close", a_close_starts_right_after_the_first_read)
    late = purchase("S1", starts_on="2026-05-01", at="2026-06-15T10:00:00+09:00")
    if door == "worker":
        run(app, late)
    else:
        assert imported(app, [late]).applied == 1

    assert reads[:2] == [None, period_index("2026-06")]  # read again after the commit failed
    assert entry(app, "S1").endswith("*")  # written by the second fold, marked

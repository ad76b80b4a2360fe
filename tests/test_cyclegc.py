"""The cycle collector is paused while an import or a publish holds its
file (workers/cyclegc.py): what they build must be freed by reference
counting, or their memory would grow with the file until the end."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from events import Event
from subcycle.bootstrap import App
from subcycle.commands.publish import line_named
from tests.support import cancellation, consent, purchase
from tests.test_import import imported, lines, numbered
from workers import cyclegc
from workers.ingest import judge, publish_all


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_the_collector_is_paused_in_the_block_and_given_back_as_it_was() -> None:
    assert gc.isenabled()
    with cyclegc.paused():
        assert not gc.isenabled()
    assert gc.isenabled()

    gc.disable()
    try:
        with cyclegc.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off: it stays off
    finally:
        gc.enable()


def contracts(n: int, tag: str) -> list[Event]:
    """Purchases, consents, a rule's refusal (an annual-only consent on a
    monthly plan is refused in the history) and cancellations."""
    events: list[Event] = []
    for i in range(n):
        sub = f"{tag}-{i}"
        events.append(purchase(sub, plan="annual" if i % 2 else "monthly"))
        events.append(consent(sub, "2026-04-10T10:00:00+09:00"))
        if i % 3 == 0:
            events.append(cancellation(sub, "2026-05-10T10:00:00+09:00"))
    return events


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "event-by-event"])
def test_an_import_leaves_no_cycles_that_grow_with_its_file(
    app: App, collector_off: None, bulk: bool
) -> None:
    left = []
    # A first import of each kind builds what lasts (connections, scripts,
    # threads): the warm-up's count is not compared.
    for n, tag in ((5, "warm-up"), (20, "small"), (400, "large")):
        events = contracts(n, f"{tag}-{bulk}")
        first = imported(app, events, bulk=bulk)
        again = imported(app, events, bulk=bulk)  # every event a duplicate
        assert first.handled == again.handled == len(events)
        assert again.duplicates == len(events)
        left.append(gc.collect())  # what only the collector could free

    _, small, large = left
    assert large <= small + 50, f"cycles left: {small} for 20 contracts, {large} for 400"


def test_a_publish_leaves_no_cycles_that_grow_with_its_file(app: App, collector_off: None) -> None:
    left = []
    for n, tag in ((5, "warm-up"), (20, "small"), (400, "large")):
        judged = judge(numbered(lines(*contracts(n, tag))), line_named)
        assert publish_all(app.publisher, judged).enqueued == len(judged.events)
        left.append(gc.collect())

    _, small, large = left
    assert large <= small + 50, f"cycles left: {small} for 20 contracts, {large} for 400"

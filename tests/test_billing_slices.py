"""A close taken in many small slices (store/billing.py, scripts/close_slice.lua)
charges exactly what the rule says, once: the set of subscriptions whose
monthly service covered a day of the month, for every closed month."""

from __future__ import annotations

import random
from datetime import date

import pytest

from events import SubscriptionPurchased
from events.reasons import Reason
from store.billing import RedisBilling, fee_of, shard_buckets, span_of
from store.calendar import END_OF_TIME, period_index
from store.records import Fact, purchase_of
from subcycle.bootstrap import App
from tests.support import cancellation, consent, purchase, run
from tests.test_billing import charged, month_end

COUNT = 300


def seed(app: App, count: int = COUNT) -> None:
    """Monthly and annual subscriptions, some cancelled or renewed, written
    through the store's port (the real records and indexes, without queues)."""
    rng = random.Random(7)
    subs = app.store.subscriptions
    for i in range(count):
        sid = f"S{i:04d}"
        annual = i % 4 == 0
        start = date(2025 if annual else 2026, rng.randint(1, 7), rng.randint(1, 28))
        bought = purchase(
            sid,
            plan="annual" if annual else "monthly",
            starts_on=start.isoformat(),
            fee=rng.choice([330, 550, 880]),
        )
        assert isinstance(bought, SubscriptionPurchased)
        subs.purchase(purchase_of(bought), bought.fingerprint())
        later = None
        if annual and i % 8 == 0:
            later = consent(sid, f"2026-0{start.month}-01T09:00:00+09:00")
        elif not annual and i % 5 == 0:
            later = cancellation(sid, f"2026-0{rng.randint(start.month, 8)}-20T12:00:00+09:00")
        if later is not None:
            kind = getattr(later, "kind", None)
            fact = Fact(later.event_id, later.type, later.occurred_at, kind)
            subs.apply(sid, fact, later.fingerprint())


def billable(app: App, period: str) -> dict[str, int]:
    """The rule (SPEC section 5), subscription by subscription, in Python."""
    month = period_index(period)
    found = {}
    for i in range(COUNT + 10):
        # As it will eventually stand: a term end due is counted, ticked or not.
        sub = app.store.subscriptions.get(f"S{i:04d}", END_OF_TIME)
        span = span_of(sub)
        if span is None or span.start > month or (span.end is not None and span.end < month):
            continue
        assert sub is not None
        found[sub.subscription_id] = span.fee
    return found


@pytest.fixture
def slices(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A slice of 3 subscriptions, and every slice's count of charges."""
    monkeypatch.setattr("store.billing.SLICE", 3)
    calls: list[int] = []
    plain = RedisBilling.close_slice

    def counted(self: RedisBilling, *args: object, **kwargs: object) -> list[int]:
        raw = plain(self, *args, **kwargs)  # type: ignore[arg-type]
        calls.append(raw[0] + raw[1])
        return raw

    monkeypatch.setattr(RedisBilling, "close_slice", counted)
    return calls


def test_a_close_in_many_slices_charges_exactly_the_rule(app: App, slices: list[int]) -> None:
    seed(app)
    run(app, month_end("2026-06"))
    assert len(slices) > 100
    expected = billable(app, "2026-06")
    assert len(expected) > 150
    assert charged(app, "2026-06") == expected
    assert app.store.ledger.totals("2026-06") == (len(expected), sum(expected.values()))


def test_a_redelivered_slice_charges_nothing(app: App) -> None:
    seed(app)
    run(app, month_end("2026-06"))
    billing = app.store.billing
    assert isinstance(billing, RedisBilling)
    before = charged(app, "2026-06")
    status = billing.status("2026-06")
    assert status is not None
    assert status.buckets == 1024  # a new store's first level
    for shard in (0, 17, 63):
        # As if the cursor's move had been lost: the slice runs again from the start.
        cursors = billing.keys.close_cursors("2026-06", "month-end:2026-06")
        app.client.hset(cursors, str(shard), shard_buckets(shard, status.buckets).start)
        raw = billing.close_slice("2026-06", shard, "month-end:2026-06", budget=10_000)
        assert raw[0] + raw[1] == 0
    assert charged(app, "2026-06") == before
    assert app.store.ledger.count("2026-06") == len(before)


def test_later_closes_in_slices_catch_up_and_never_double(app: App, slices: list[int]) -> None:
    seed(app)
    run(app, month_end("2026-06"))
    # Recorded after June was closed: a June start, and a June cancellation.
    run(app, purchase("S0300", starts_on="2026-06-10"), purchase("S0301", starts_on="2026-07-02"))
    run(app, cancellation("S0001", "2026-06-25T10:00:00+09:00"))
    run(app, month_end("2026-07"), month_end("2026-08"))
    run(app, month_end("2026-07", event_id="month-end:2026-07:again"))
    for period in ("2026-06", "2026-07", "2026-08"):
        expected = billable(app, period)
        assert charged(app, period) == expected, period
        assert app.store.ledger.totals(period) == (len(expected), sum(expected.values()))
    assert "S0300" in charged(app, "2026-06")


def test_a_month_not_over_is_still_refused(app: App) -> None:
    seed(app, 5)
    run(app, month_end("2026-06", at="2026-06-30T23:59:59+09:00"))
    assert app.store.billing.status("2026-06") is None
    assert [r.reason for r in app.store.refusals.list()] == [Reason.PERIOD_NOT_ENDED]


@pytest.mark.parametrize(
    ("value", "fee"),
    [(b"550", 550), (b"24306:550:", 550), (b"24306:330:24320", 330), (b"24306:880:*", 880)],
)
def test_a_ledger_entry_reads_as_its_fee_whether_written_or_copied(value: bytes, fee: int) -> None:
    # A charge written by HSET holds the fee; one copied with its billing
    # bucket holds the span text, dirty mark and all (scripts/close_slice.lua).
    assert fee_of(value) == fee

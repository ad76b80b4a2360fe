"""Ids never go raw into key names, and every id subcycle derives is valid
(SPEC section 11), for every id the grammar allows."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from events import ids, parse_event
from events.types import EARLIEST, LATEST
from store.keys import Keys
from subcycle.bootstrap import App
from tests.support import consent, event, purchase, run

IDS = st.from_regex(r"[A-Za-z0-9._:@-]{1,128}", fullmatch=True)
DAYS = st.dates(min_value=EARLIEST, max_value=LATEST)
KEYS = Keys("p:")
KINDS: list[Callable[[str], str]] = [
    KEYS.subscription,
    KEYS.facts,
    KEYS.event,
    KEYS.sent,
    KEYS.otp,
    KEYS.otp_sends,
    KEYS.otp_history,
]


@given(IDS, IDS)
@example("SUB-1", "SUB-1:facts")
@example("X", "X}:facts")
def test_no_key_of_one_id_equals_or_begins_another_id_s_key(a: str, b: str) -> None:
    if a == b or not ids.is_identifier(b):
        return
    for one, other in itertools.product(KINDS, KINDS):
        assert one(a) != other(b)
        assert not other(b).startswith(one(a))


def test_an_id_that_is_not_in_the_grammar_never_becomes_a_key() -> None:
    with pytest.raises(ValueError, match="not an id"):
        KEYS.subscription("X}:facts")


@given(IDS, DAYS, st.integers(min_value=0, max_value=366))
@example("a" * 128, LATEST, 366)
def test_every_derived_id_is_in_the_grammar_for_the_longest_id(
    sub: str, day: date, offset: int
) -> None:
    for derived in (
        ids.term_end_id(sub, day),
        ids.reminder_id(sub, day, offset),
        ids.otp_message_id(sub),
        ids.expiry_tick_id(day),
        ids.month_end_id(f"{day:%Y-%m}"),
    ):
        assert ids.is_identifier(derived), derived
        assert ids.reserved_prefix(derived) is not None


@given(IDS, IDS, DAYS)
@example("a" * 64, "x" + "0" * 64, date(2026, 7, 31))
def test_derived_ids_of_two_subscriptions_never_meet(a: str, b: str, day: date) -> None:
    if a != b:
        assert ids.term_end_id(a, day) != ids.term_end_id(b, day)
        assert ids.reminder_id(a, day, 30) != ids.reminder_id(b, day, 30)


# Through the real workers, on both backends.

_serial = itertools.count()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(IDS)
@example("a" * 128)
@example("S:facts")
def test_any_valid_id_survives_purchase_tick_term_end_and_close(app: App, raw: str) -> None:
    # Each example its own subscription: a serial in front, still in the grammar.
    n = next(_serial)
    sub = f"{n}.{raw}"[:128]
    neighbour = f"{sub}:facts"[:128] if len(sub) < 122 else None
    events = [
        purchase(sub, plan="annual", starts_on="2025-06-01"),
        consent(sub, "2026-05-20T10:00:00+09:00"),
    ]
    if neighbour is not None:
        events.append(purchase(neighbour, plan="monthly", starts_on="2026-06-15"))
    run(app, *events)
    tick = event("ExpiryTick", event_id=f"tick-{n}", occurred_at="2026-06-01T10:00:00+09:00")
    close = parse_event(
        {
            "type": "BillingCycleClosed",
            "event_id": f"close-{n}",
            "occurred_at": "2026-07-01T00:00:00+09:00",
            "period": "2026-06",
        }
    )
    report = run(app, tick, close)

    assert report.counts["dead_lettered"] == 0
    record = app.store.subscriptions.get(sub)
    assert record is not None
    assert record.license_type == "Monthly"
    assert [h.outcome for h in record.history][-1] == "switched_to_monthly"
    assert record.history[-1].event_id == ids.term_end_id(sub, date(2026, 5, 31))
    assert record.last_billed_period == "2026-06"
    if neighbour is not None:
        other = app.store.subscriptions.get(neighbour)
        assert other is not None
        assert (other.plan, other.last_billed_period) == ("monthly", "2026-06")
    charged = {c.subscription_id for c in app.store.ledger.charges("2026-06")}
    assert sub in charged

"""Term end (SPEC sections 3 and 6): the daily tick ends every annual term due,
switching it to monthly with renewal consent and expiring it without."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from events.ids import term_end_id as term_end_event_id
from store.codec import fact_field
from store.records import Subscription
from subcycle.bootstrap import App
from tests.conftest import Clock
from tests.support import cancellation, consent, event, purchase, run
from workers.drain import DrainReport


def annual(sub: str = "A1", starts_on: str = "2025-08-01", **extra: Any) -> Any:
    return purchase(sub, plan="annual", starts_on=starts_on, **extra)


def tick(app: App, clock: Clock, day: str) -> DrainReport:
    at = datetime.fromisoformat(f"{day}T10:00:00+09:00")
    clock.now = at
    return run(app, event("ExpiryTick", event_id=f"expiry:{day}", occurred_at=at.isoformat()))


def license_of(app: App, sub: str) -> Subscription:
    record = app.store.subscriptions.get(sub)
    assert record is not None
    return record


def term_end_recorded(app: App, sub: str) -> bool:
    """Whether the tick's AnnualTermEnded was processed (a fact in the store)."""
    record = license_of(app, sub)
    key = app.store.keys.subscription(sub)
    return bool(app.client.hexists(key, fact_field(term_end_event_id(sub, record.expires_on))))


def test_with_renewal_consent_the_annual_becomes_monthly_the_day_after_expiry(
    app: App, clock: Clock
) -> None:
    run(app, annual(), consent("A1", "2026-07-02T09:15:00+09:00"))
    tick(app, clock, "2026-08-01")
    sub = license_of(app, "A1")
    assert sub.license_type == "Monthly"
    assert str(sub.monthly_started_on) == "2026-08-01"
    assert sub.auto_renewal is True
    assert sub.service_until is None
    assert term_end_recorded(app, "A1")
    assert [h.outcome for h in sub.history if h.type == "AnnualTermEnded"] == [
        "switched_to_monthly"
    ]


@pytest.mark.parametrize(
    ("term_years", "expires_on"), [(1, "2026-07-31"), (2, "2027-07-31"), (3, "2028-07-31")]
)
def test_without_consent_a_term_of_any_length_expires_after_its_last_day(
    app: App, clock: Clock, term_years: int, expires_on: str
) -> None:
    run(app, annual(term_years=term_years))
    assert str(license_of(app, "A1").expires_on) == expires_on
    tick(app, clock, expires_on)
    assert license_of(app, "A1").license_type == "Annual"
    assert not term_end_recorded(app, "A1")

    next_day = datetime.fromisoformat(expires_on).date().toordinal() + 1
    tick(app, clock, datetime.fromordinal(next_day).date().isoformat())

    sub = license_of(app, "A1")
    assert sub.license_type == "Expired"
    assert str(sub.service_until) == expires_on
    assert term_end_recorded(app, "A1")


@pytest.mark.parametrize(("term_years", "expires_on"), [(1, "2025-02-28"), (3, "2027-02-28")])
def test_a_term_started_on_29_february_ends_on_the_last_day_of_february(
    app: App, clock: Clock, term_years: int, expires_on: str
) -> None:
    run(app, annual(starts_on="2024-02-29", term_years=term_years))
    assert str(license_of(app, "A1").expires_on) == expires_on
    tick(app, clock, f"{expires_on[:4]}-03-01")
    assert license_of(app, "A1").license_type == "Expired"
    assert term_end_recorded(app, "A1")


def test_a_tick_that_missed_days_ends_every_term_due_and_none_twice(app: App, clock: Clock) -> None:
    run(
        app,
        annual("A1", starts_on="2025-07-29"),
        annual("A2", starts_on="2025-07-30"),
        annual("A3", starts_on="2025-07-31"),
        annual("A4", starts_on="2025-08-01"),
    )
    tick(app, clock, "2026-07-29")
    assert [term_end_recorded(app, s) for s in ("A1", "A2", "A3", "A4")] == [
        True,
        False,
        False,
        False,
    ]
    # The scheduler was down on 2026-07-30 and 2026-07-31.
    tick(app, clock, "2026-08-01")
    assert [term_end_recorded(app, s) for s in ("A1", "A2", "A3", "A4")] == [
        True,
        True,
        True,
        True,
    ]
    again = tick(app, clock, "2026-08-02")
    assert again.counts["processed"] == 1  # the tick alone: nothing left to end


def test_an_event_dated_after_the_term_end_is_judged_after_it_even_before_the_tick(
    app: App, clock: Clock
) -> None:
    run(
        app,
        annual(),
        consent("A1", "2026-07-02T09:15:00+09:00"),
        # Dated on the first monthly day, processed before any tick ended the term.
        cancellation("A1", "2026-08-01T09:00:00+09:00", kind="auto_renewal"),
    )
    sub = license_of(app, "A1")
    assert sub.license_type == "Cancelled"
    assert str(sub.monthly_started_on) == "2026-08-01"
    assert str(sub.service_until) == "2026-08-31"

    tick(app, clock, "2026-08-02")
    assert license_of(app, "A1").license_type == "Cancelled"
    assert term_end_recorded(app, "A1")


def test_consent_given_on_the_last_day_switches_to_monthly(app: App, clock: Clock) -> None:
    run(app, annual(), consent("A1", "2026-07-31T23:59:59+09:00"))
    tick(app, clock, "2026-08-01")
    assert license_of(app, "A1").license_type == "Monthly"


def test_consent_given_the_day_after_the_last_day_is_refused_and_the_term_expires(
    app: App, clock: Clock
) -> None:
    run(app, annual(), consent("A1", "2026-08-01T00:00:00+09:00"))
    tick(app, clock, "2026-08-01")
    sub = license_of(app, "A1")
    assert sub.license_type == "Expired"
    assert [h.reason for h in sub.history if h.type == "RenewalConsentGiven"] == ["term_ended"]


def test_consent_withdrawn_before_the_end_lets_the_term_expire(app: App, clock: Clock) -> None:
    run(
        app,
        annual(),
        consent("A1", "2026-07-02T09:15:00+09:00"),
        cancellation("A1", "2026-07-20T18:00:00+09:00", kind="auto_renewal"),
    )
    tick(app, clock, "2026-08-01")
    sub = license_of(app, "A1")
    assert sub.license_type == "Expired"
    assert sub.notice == "Automatic renewal service has been cancelled"
    assert str(sub.service_until) == "2026-07-31"


def test_the_term_end_applies_the_day_after_expiry_even_if_no_tick_ran(app: App) -> None:
    run(app, annual())
    at_start_of_next_day = datetime.fromisoformat("2026-08-01T00:00:00+09:00")
    sub = app.store.subscriptions.get("A1", at_start_of_next_day)
    assert sub is not None
    assert sub.license_type == "Expired"


def test_a_term_end_for_another_term_is_refused_and_changes_nothing(app: App) -> None:
    run(app, annual(term_years=2))
    before = license_of(app, "A1").as_of
    stray = event(
        "AnnualTermEnded",
        event_id="term-end:A1:2026-07-31",
        occurred_at="2026-08-01T00:00:00+09:00",
        subscription_id="A1",
        expires_on="2026-07-31",
    )
    report = run(app, stray)
    assert report.counts["dead_lettered"] == 1
    assert [r.reason for r in app.store.refusals.list()] == ["not_this_term"]
    sub = license_of(app, "A1")
    assert sub.license_type == "Annual"
    assert sub.as_of == before


def test_a_term_end_dated_before_the_term_is_over_is_refused(app: App) -> None:
    run(app, annual())
    early = event(
        "AnnualTermEnded",
        event_id="term-end:A1:2026-07-31",
        occurred_at="2026-07-31T23:59:59+09:00",
        subscription_id="A1",
        expires_on="2026-07-31",
    )
    run(app, early)
    assert [r.reason for r in app.store.refusals.list()] == ["term_not_ended"]
    assert not term_end_recorded(app, "A1")

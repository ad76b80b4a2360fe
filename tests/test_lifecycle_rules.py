"""The lifecycle fold (SPEC sections 3 and 4) on its own: no Redis, no queues."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.calendar import END_OF_TIME, month_index, period_index, period_of, term_expires_on
from store.lifecycle import project
from store.records import Fact, Purchase


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def annual(starts_on: str = "2025-08-01", years: int = 1) -> Purchase:
    return Purchase(
        "A1",
        "p",
        ts(f"{starts_on}T10:00:00+09:00"),
        "+819012345678",
        "Guard",
        "ja",
        "annual",
        years,
        date.fromisoformat(starts_on),
        550,
    )


def monthly(starts_on: str = "2026-04-01") -> Purchase:
    return Purchase(
        "M1",
        "p",
        ts(f"{starts_on}T10:00:00+09:00"),
        "+819012345678",
        "Guard",
        "ja",
        "monthly",
        None,
        date.fromisoformat(starts_on),
        550,
    )


def cancel(event_id: str, at: str, kind: str = "monthly_service") -> Fact:
    return Fact(event_id, "CancellationRequested", ts(at), kind)


def consent(event_id: str, at: str) -> Fact:
    return Fact(event_id, "RenewalConsentGiven", ts(at))


@pytest.mark.parametrize(
    ("starts_on", "years", "expires_on"),
    [
        ("2025-08-01", 1, "2026-07-31"),
        ("2025-08-01", 2, "2027-07-31"),
        ("2025-08-01", 3, "2028-07-31"),
        ("2024-02-29", 1, "2025-02-28"),
        ("2024-02-29", 3, "2027-02-28"),
        ("2023-03-01", 1, "2024-02-29"),
        ("2025-01-31", 1, "2026-01-30"),
    ],
)
def test_the_annual_term_follows_the_civil_code(
    starts_on: str, years: int, expires_on: str
) -> None:
    assert term_expires_on(date.fromisoformat(starts_on), years).isoformat() == expires_on


def test_a_june_cancellation_keeps_the_service_until_the_end_of_june() -> None:
    sub = project(monthly(), [cancel("c", "2026-06-30T23:59:59+09:00")], END_OF_TIME)
    assert (sub.license_type, str(sub.service_until)) == ("Cancelled", "2026-06-30")
    assert sub.auto_renewal is False


def test_a_cancellation_at_15_00_utc_on_30_june_is_a_july_cancellation() -> None:
    sub = project(monthly(), [cancel("c", "2026-06-30T15:00:00Z")], END_OF_TIME)
    assert str(sub.service_until) == "2026-07-31"


def test_the_earliest_cancellation_stands_in_every_order() -> None:
    facts = [
        cancel("july", "2026-07-10T10:00:00+09:00"),
        cancel("june", "2026-06-10T10:00:00+09:00"),
        cancel("aug", "2026-08-01T10:00:00+09:00", "auto_renewal"),
    ]
    for order in itertools.permutations(facts):
        sub = project(monthly(), order, END_OF_TIME)
        assert str(sub.service_until) == "2026-06-30"
        assert sub.cancelled_at == ts("2026-06-10T10:00:00+09:00")
        assert sub.outcome_of("july").reason == "already_cancelled"  # type: ignore[union-attr]


def test_the_later_of_consent_and_auto_renewal_cancellation_wins_in_either_order() -> None:
    early, late = (
        consent("c", "2026-07-01T10:00:00+09:00"),
        cancel("x", "2026-07-02T10:00:00+09:00", "auto_renewal"),
    )
    for order in ([early, late], [late, early]):
        assert project(annual(), order, END_OF_TIME).license_type == "Expired"
    early, late = (
        cancel("x", "2026-07-01T10:00:00+09:00", "auto_renewal"),
        consent("c", "2026-07-02T10:00:00+09:00"),
    )
    for order in ([early, late], [late, early]):
        sub = project(annual(), order, END_OF_TIME)
        assert (sub.license_type, str(sub.monthly_started_on)) == ("Monthly", "2026-08-01")


def test_an_auto_renewal_cancellation_on_an_annual_sets_the_notice() -> None:
    sub = project(
        annual(),
        [cancel("x", "2026-07-05T18:00:00+09:00", "auto_renewal")],
        ts("2026-07-05T18:00:00+09:00"),
    )
    assert sub.license_type == "Annual"
    assert sub.notice == "Automatic renewal service has been cancelled"
    assert sub.auto_renewal_cancelled_at == ts("2026-07-05T18:00:00+09:00")


def test_a_monthly_service_cancellation_on_an_annual_is_refused_not_monthly() -> None:
    sub = project(annual(), [cancel("x", "2026-07-05T18:00:00+09:00")], END_OF_TIME)
    assert sub.outcome_of("x").reason == "not_monthly"  # type: ignore[union-attr]


def test_cancelling_an_expired_subscription_is_refused_not_active() -> None:
    sub = project(annual(), [cancel("x", "2026-08-05T18:00:00+09:00", "auto_renewal")], END_OF_TIME)
    assert sub.outcome_of("x").reason == "not_active"  # type: ignore[union-attr]


def test_consent_after_the_term_is_refused_term_ended_and_on_a_monthly_not_annual() -> None:
    assert (
        project(annual(), [consent("c", "2026-08-01T00:00:00+09:00")], END_OF_TIME)
        .outcome_of("c")
        .reason
        == "term_ended"
    )  # type: ignore[union-attr]
    assert (
        project(monthly(), [consent("c", "2026-05-01T00:00:00+09:00")], END_OF_TIME)
        .outcome_of("c")
        .reason
        == "not_annual"
    )  # type: ignore[union-attr]


def test_consent_on_the_last_day_of_the_term_switches_to_monthly() -> None:
    sub = project(annual(), [consent("c", "2026-07-31T23:59:59+09:00")], END_OF_TIME)
    assert (sub.license_type, sub.auto_renewal, str(sub.monthly_started_on)) == (
        "Monthly",
        True,
        "2026-08-01",
    )


def test_an_auto_renewal_cancellation_dated_the_first_monthly_day_cancels_the_monthly_service() -> (
    None
):
    facts = [
        consent("c", "2026-07-01T10:00:00+09:00"),
        cancel("x", "2026-08-01T09:00:00+09:00", "auto_renewal"),
    ]
    for order in (facts, facts[::-1]):
        sub = project(annual(), order, END_OF_TIME)
        assert (sub.license_type, str(sub.service_until)) == ("Cancelled", "2026-08-31")


def test_the_term_end_applies_the_day_after_expiry_without_any_tick() -> None:
    assert project(annual(), [], ts("2026-07-31T23:59:59+09:00")).license_type == "Annual"
    sub = project(annual(), [], ts("2026-08-01T00:00:00+09:00"))
    assert (sub.license_type, str(sub.service_until)) == ("Expired", "2026-07-31")


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_a_days_month_index_is_the_index_of_its_period(day: date) -> None:
    assert month_index(day) == period_index(period_of(day))

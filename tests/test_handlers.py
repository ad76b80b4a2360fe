"""The handlers as plain functions of an event and their dependencies,
with hand-written fakes (tests/fakes.py) instead of Redis and Dramatiq:
what each decides, what it writes, what it sends, what it refuses."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from events import JST, ExpiryTick, SubscriptionExpiringSoon
from events.reasons import Reason, Refusal
from store.expiry import PendingReminder
from store.otp import Decision
from store.subscriptions import ExtraWrites
from tests.fakes import FakeDelivery, FakePublisher, FakeStore, fake_deps
from tests.support import cancellation, consent, event, purchase
from workers.deps import Deps
from workers.errors import RetryLater
from workers.gateway.base import PermanentFailure, TemporaryFailure
from workers.handlers import HANDLERS, billing, expiry, lifecycle, otp, reminders

NOON = datetime(2026, 7, 1, 12, 0, tzinfo=JST)
SETTLE = ExtraWrites((("SREM", "acks", "m1"), ("HDEL", "msgs", "m1")))


def store_of(deps: Deps) -> FakeStore:
    assert isinstance(deps.store, FakeStore)
    return deps.store


def published(deps: Deps) -> list[str]:
    assert isinstance(deps.publisher, FakePublisher)
    return [e.event_id for e in deps.publisher.published]


def delivered(deps: Deps) -> FakeDelivery:
    assert isinstance(deps.delivery, FakeDelivery)
    return deps.delivery


def test_a_handler_is_given_only_the_event_type_it_handles() -> None:
    with pytest.raises(TypeError, match="given to the"):
        HANDLERS[type(purchase("S1"))](cancellation("S1", NOON.isoformat()), fake_deps(NOON))


def test_a_purchase_is_recorded_and_its_replay_is_a_duplicate() -> None:
    deps = fake_deps(NOON)
    bought = purchase("S1")
    assert not lifecycle.record_purchase(bought, deps).duplicate  # type: ignore[arg-type]
    assert lifecycle.record_purchase(bought, deps).duplicate  # type: ignore[arg-type]


def test_an_applied_cancellation_asks_its_commit_to_settle_its_message() -> None:
    deps = fake_deps(NOON, settlement=lambda: SETTLE)
    lifecycle.record_purchase(purchase("S1"), deps)  # type: ignore[arg-type]
    applied = lifecycle.request_cancellation(
        cancellation("S1", "2026-06-30T23:59:59+09:00"),  # type: ignore[arg-type]
        deps,
    )
    assert applied.subscription.license_type == "Cancelled"
    assert applied.subscription.service_until == date(2026, 6, 30)
    assert store_of(deps).subscriptions.extra_asked == [SETTLE]
    assert applied.extra_written
    assert store_of(deps).refusals.list() == []


def test_a_rule_s_refusal_is_kept_in_the_refused_record_and_not_dead_lettered() -> None:
    deps = fake_deps(NOON)
    lifecycle.record_purchase(purchase("A1", plan="annual", starts_on="2025-08-01"), deps)  # type: ignore[arg-type]
    applied = lifecycle.request_cancellation(
        cancellation("A1", "2026-07-05T18:00:00+09:00", kind="monthly_service"),  # type: ignore[arg-type]
        deps,
    )
    assert applied.entry is not None
    assert applied.entry.reason is Reason.NOT_MONTHLY
    [record] = store_of(deps).refusals.list()
    assert (record.reason, record.dead_lettered) == ("not_monthly", False)


def test_a_term_end_for_another_term_is_refused() -> None:
    deps = fake_deps(NOON)
    lifecycle.record_purchase(purchase("A1", plan="annual", starts_on="2025-08-01"), deps)  # type: ignore[arg-type]
    stray = event(
        "AnnualTermEnded",
        subscription_id="A1",
        expires_on="2027-07-31",
        occurred_at="2027-08-01T00:00:00+09:00",
    )
    with pytest.raises(Refusal) as refused:
        lifecycle.end_annual_term(stray, deps)  # type: ignore[arg-type]
    assert refused.value.reason is Reason.NOT_THIS_TERM


def test_the_tick_enqueues_term_ends_and_the_reminder_due_with_derived_ids() -> None:
    deps = fake_deps(NOON)
    index = store_of(deps).expiry
    index.term_ends = [("A0", date(2026, 6, 30))]
    index.reminders = [PendingReminder("A1", date(2026, 7, 31), "upcoming")]
    tick = ExpiryTick(
        event_id="expiry:2026-07-01", occurred_at=datetime(2026, 7, 1, 10, tzinfo=JST)
    )

    report = expiry.on_expiry_tick(tick, deps)

    assert (report.term_ends, report.reminders) == (1, 1)
    assert published(deps) == ["term-end:A0:2026-06-30", "reminder:A1:2026-07-31:30"]
    assert index.enqueued == ["A0"]
    assert [(m.subscription_id, m.next_due) for m in index.moves] == [("A1", date(2026, 7, 24))]


def test_a_tick_at_night_sends_no_reminder_and_leaves_them_pending() -> None:
    deps = fake_deps(NOON)
    store_of(deps).expiry.reminders = [PendingReminder("A1", date(2026, 7, 31), "upcoming")]
    night = ExpiryTick(
        event_id="expiry:2026-07-01", occurred_at=datetime(2026, 7, 1, 2, tzinfo=JST)
    )
    expiry.on_expiry_tick(night, deps)
    assert published(deps) == []
    assert len(store_of(deps).expiry.reminders) == 1


def test_one_item_the_tick_cannot_handle_is_refused_and_the_rest_goes_on() -> None:
    deps = fake_deps(NOON)
    # Out of the calendar: no AnnualTermEnded can be made for it.
    store_of(deps).expiry.term_ends = [("OLD", date(1999, 12, 31)), ("A0", date(2026, 6, 30))]
    tick = ExpiryTick(
        event_id="expiry:2026-07-01", occurred_at=datetime(2026, 7, 1, 10, tzinfo=JST)
    )
    expiry.on_expiry_tick(tick, deps)
    assert published(deps) == ["term-end:A0:2026-06-30"]
    [record] = store_of(deps).refusals.list()
    assert (record.refusal_id, record.reason) == ("tick:OLD", "unprocessable_item")


def reminder(at: str = "2026-07-01T10:00:00+09:00") -> SubscriptionExpiringSoon:
    return event(  # type: ignore[return-value]
        "SubscriptionExpiringSoon",
        event_id="reminder:A1:2026-07-31:30",
        occurred_at=at,
        subscription_id="A1",
        expires_on="2026-07-31",
        days_left=30,
    )


def test_a_reminder_goes_out_once_with_the_renewal_url() -> None:
    deps = fake_deps(NOON)
    lifecycle.record_purchase(purchase("A1", plan="annual", starts_on="2025-08-01"), deps)  # type: ignore[arg-type]
    assert reminders.send_reminder(reminder(), deps)
    assert not reminders.send_reminder(reminder(), deps)
    [sms] = delivered(deps).delivered
    assert deps.reminders.renewal_url in sms.text
    assert store_of(deps).events.status("reminder:A1:2026-07-31:30") is not None


def test_a_reminder_after_renewal_consent_is_skipped() -> None:
    deps = fake_deps(NOON)
    lifecycle.record_purchase(purchase("A1", plan="annual", starts_on="2025-08-01"), deps)  # type: ignore[arg-type]
    lifecycle.give_renewal_consent(consent("A1", "2026-07-01T09:00:00+09:00"), deps)  # type: ignore[arg-type]
    assert not reminders.send_reminder(reminder(), deps)
    assert delivered(deps).delivered == []


def test_a_provider_s_blip_is_a_retry_later_and_its_refusal_a_refusal() -> None:
    deps = fake_deps(NOON)
    lifecycle.record_purchase(purchase("A1", plan="annual", starts_on="2025-08-01"), deps)  # type: ignore[arg-type]
    delivered(deps).fail_with = TemporaryFailure("provider answered HTTP 503")
    with pytest.raises(RetryLater):
        reminders.send_reminder(reminder(), deps)
    delivered(deps).fail_with = PermanentFailure("HTTP 400 (opted_out)")
    with pytest.raises(Refusal) as refused:
        reminders.send_reminder(reminder(), deps)
    assert refused.value.reason is Reason.PROVIDER_REFUSED


def test_a_close_before_the_month_ended_is_refused() -> None:
    deps = fake_deps(NOON)
    early = event("BillingCycleClosed", period="2026-07", occurred_at=NOON.isoformat())
    with pytest.raises(Refusal) as refused:
        billing.close_billing_cycle(early, deps)  # type: ignore[arg-type]
    assert refused.value.reason is Reason.PERIOD_NOT_ENDED


def test_a_close_sends_its_shards_once_even_when_redelivered() -> None:
    sent: list[tuple[str, tuple[object, ...]]] = []
    deps = fake_deps(NOON, send_task=lambda name, args: sent.append((name, args)))
    close = event(
        "BillingCycleClosed",
        event_id="month-end:2026-06",
        period="2026-06",
        occurred_at="2026-07-01T00:00:00+09:00",
    )
    billing.close_billing_cycle(close, deps)  # type: ignore[arg-type]
    billing.close_billing_cycle(close, deps)  # type: ignore[arg-type]
    assert len(sent) == 64
    assert {args[1] for _, args in sent} == set(range(64))


def otp_request() -> object:
    return event("OtpRequested", phone="090-1234-5678", channel="sms", occurred_at=NOON.isoformat())


def test_a_code_goes_to_a_customer_in_the_locale_of_the_contract() -> None:
    deps = fake_deps(NOON)
    otp.request_code(otp_request(), deps)  # type: ignore[arg-type]
    [sms] = delivered(deps).delivered
    assert sms.kind == "verification_code"
    assert sms.message_id.startswith("otp:")
    assert "認証コード" in sms.text


def test_a_stranger_s_request_waits_for_a_racing_purchase_then_sends_nothing() -> None:
    deps = fake_deps(NOON, retries=lambda: 0)
    store_of(deps).codes.decision = Decision("sent", "code-id-1", None, False, locale=None)
    with pytest.raises(RetryLater):
        otp.request_code(otp_request(), deps)  # type: ignore[arg-type]
    done = fake_deps(NOON, retries=lambda: 5)
    store_of(done).codes.decision = Decision("sent", "code-id-1", None, False, locale=None)
    otp.request_code(otp_request(), done)  # type: ignore[arg-type]
    assert delivered(done).delivered == []


def test_a_provider_that_echoes_the_code_never_gets_it_into_the_refusal() -> None:
    deps = fake_deps(NOON)
    code = deps.codes.code_for("+819012345678", "code-id-1")
    delivered(deps).fail_with = PermanentFailure(f"HTTP 400 ({code})")
    with pytest.raises(Refusal) as refused:
        otp.request_code(otp_request(), deps)  # type: ignore[arg-type]
    assert code not in refused.value.detail


def test_two_different_numbers_at_registration_are_refused() -> None:
    deps = fake_deps(NOON)
    mismatch = event(
        "MobileNumberRegistrationSubmitted",
        phone="090-1234-5678",
        phone_confirmation="090-1234-5679",
        channel="sms",
        occurred_at=NOON.isoformat(),
    )
    with pytest.raises(Refusal) as refused:
        otp.register_number(mismatch, deps)  # type: ignore[arg-type]
    assert refused.value.reason is Reason.NUMBERS_DO_NOT_MATCH

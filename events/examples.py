"""One whole event of each type: the schema's ``examples`` and the README's
catalogue table (tests/test_schema.py holds the two to the same text).

Every one is accepted by ``subcycle publish``, so the types subcycle derives
itself (ticks, reminders, term ends, closes) carry ordinary ids here, as an
operator's backfill would: their derived ids (``expiry:…``) are reserved.
"""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, dict[str, Any]] = {
    "SubscriptionPurchased": {
        "type": "SubscriptionPurchased",
        "event_id": "pos-1",
        "occurred_at": "2025-08-01T10:00:00+09:00",
        "subscription_id": "SUB-2",
        "phone": "080-2345-6789",
        "product": "Mobile Security",
        "plan": "annual",
        "term_years": 1,
        "starts_on": "2025-08-01",
        "monthly_fee_jpy": 550,
        "locale": "ja",
    },
    "RenewalConsentGiven": {
        "type": "RenewalConsentGiven",
        "event_id": "csp-1",
        "occurred_at": "2026-07-02T09:15:00+09:00",
        "subscription_id": "SUB-2",
    },
    "CancellationRequested": {
        "type": "CancellationRequested",
        "event_id": "lp-2",
        "occurred_at": "2026-07-05T18:00:00+09:00",
        "subscription_id": "SUB-2",
        "kind": "auto_renewal",
    },
    "OtpRequested": {
        "type": "OtpRequested",
        "event_id": "login-1",
        "occurred_at": "2026-07-01T12:00:00+09:00",
        "phone": "090-1234-5678",
        "channel": "voice",
        "resend": False,
    },
    "MobileNumberRegistrationSubmitted": {
        "type": "MobileNumberRegistrationSubmitted",
        "event_id": "login-9",
        "occurred_at": "2026-07-01T12:05:00+09:00",
        "phone": "090-1234-5678",
        "phone_confirmation": "09012345678",
        "channel": "sms",
    },
    "ExpiryTick": {
        "type": "ExpiryTick",
        "event_id": "ops-expiry-2026-07-02",
        "occurred_at": "2026-07-02T10:00:00+09:00",
    },
    "SubscriptionExpiringSoon": {
        "type": "SubscriptionExpiringSoon",
        "event_id": "ops-reminder-SUB-2-30",
        "occurred_at": "2026-07-01T10:00:00+09:00",
        "subscription_id": "SUB-2",
        "expires_on": "2026-07-31",
        "days_left": 30,
    },
    "AnnualTermEnded": {
        "type": "AnnualTermEnded",
        "event_id": "ops-term-end-SUB-2",
        "occurred_at": "2026-08-01T10:00:00+09:00",
        "subscription_id": "SUB-2",
        "expires_on": "2026-07-31",
    },
    "BillingCycleClosed": {
        "type": "BillingCycleClosed",
        "event_id": "ops-close-2026-06",
        "occurred_at": "2026-07-01T00:00:00+09:00",
        "period": "2026-06",
    },
}

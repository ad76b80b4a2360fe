"""Events to judge with the exported schema and with subcycle itself.

``SAME_VERDICT``: documents the schema can judge; every validator must agree
with subcycle on each (tests/test_schema.py with jsonschema,
tests/test_schema_ajv.py with Ajv). ``ONLY_SUBCYCLE``: what the schema
admits and subcycle refuses (docs/schema.md lists them).
"""

from __future__ import annotations

from typing import Any

from events import InvalidEvent, parse_upstream
from events.examples import EXAMPLES

PURCHASE = EXAMPLES["SubscriptionPurchased"]
MONTHLY = {k: v for k, v in PURCHASE.items() if k != "term_years"} | {"plan": "monthly"}
OTP = EXAMPLES["OtpRequested"]
TICK = EXAMPLES["ExpiryTick"]
CLOSE = EXAMPLES["BillingCycleClosed"]
REMINDER = EXAMPLES["SubscriptionExpiringSoon"]
TERM_END = EXAMPLES["AnnualTermEnded"]


def _without(event: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != field}


VALID: dict[str, Any] = {
    **{f"the {name} example": example for name, example in EXAMPLES.items()},
    "the current schema_version said": {**PURCHASE, "schema_version": 1},
    "a monthly plan without a term": MONTHLY,
    "a monthly plan with a null term": {**MONTHLY, "term_years": None},
    "a three-year term": {**PURCHASE, "term_years": 3},
    "a free purchase": {**PURCHASE, "monthly_fee_jpy": 0},
    "the default locale": _without(PURCHASE, "locale"),
    "an English locale": {**PURCHASE, "locale": "en"},
    "a phone in E.164": {**PURCHASE, "phone": "+818023456789"},
    "a phone without hyphens": {**PURCHASE, "phone": "08023456789"},
    "a full-width phone": {**PURCHASE, "phone": "０８０－２３４５－６７８９"},
    "a full-width E.164 phone": {**OTP, "phone": "＋８１９０１２３４５６７８"},
    "a 070 number": {**OTP, "phone": "070-1234-5678"},
    "a 060 number": {**OTP, "phone": "060-1234-5678"},
    "a UTC timestamp": {**OTP, "occurred_at": "2026-07-01T03:00:00Z"},
    "a timestamp without seconds": {**OTP, "occurred_at": "2026-07-01T12:00+09:00"},
    "microseconds": {**OTP, "occurred_at": "2026-07-01T12:00:00.123456+09:00"},
    "the widest offsets": {**OTP, "occurred_at": "2026-07-01T12:00:00-14:00"},
    "a +14:00 offset": {**OTP, "occurred_at": "2026-07-01T12:00:00+14:00"},
    "a resend": {**OTP, "resend": True},
    "no resend said": _without(OTP, "resend"),
    "the calendar's first month": {**CLOSE, "period": "2000-01"},
    "the calendar's last day": {**TERM_END, "expires_on": "2199-12-31"},
    "an id with every character allowed": {**TICK, "event_id": "pos:Shop_12.a@b-1"},
    "an id that only looks derived": {**TICK, "event_id": "expiry-2026-07-02"},
    "a derived prefix in upper case": {**TICK, "event_id": "EXPIRY:2026-07-02"},
    "a 128-character id": {**TICK, "event_id": "e" * 128},
    "no days left": {**REMINDER, "days_left": 0},
    "a 64-character product": {**PURCHASE, "product": "S" * 64},
    "a Japanese product name": {**PURCHASE, "product": "モバイルセキュリティ"},
}

INVALID: dict[str, Any] = {
    "not an object": ["SubscriptionPurchased"],
    "an empty object": {},
    "no type": _without(PURCHASE, "type"),
    "an unknown type": {**TICK, "type": "SubscriptionRenewed"},
    "a type in the wrong case": {**TICK, "type": "expirytick"},
    "an extra field": {**PURCHASE, "coupon": "SUMMER"},
    "a missing field": _without(PURCHASE, "starts_on"),
    "a naive timestamp": {**PURCHASE, "occurred_at": "2026-07-01T12:00:00"},
    "a timestamp with a space": {**OTP, "occurred_at": "2026-07-01 12:00:00+09:00"},
    "a date for a timestamp": {**OTP, "occurred_at": "2026-07-01"},
    "month 13 in a timestamp": {**OTP, "occurred_at": "2026-13-01T12:00:00+09:00"},
    "hour 24": {**OTP, "occurred_at": "2026-07-01T24:00:00+09:00"},
    "an offset past 14:00": {**OTP, "occurred_at": "2026-07-01T12:00:00+14:30"},
    "a +15:00 offset": {**OTP, "occurred_at": "2026-07-01T12:00:00+15:00"},
    "offset minutes past 59": {**OTP, "occurred_at": "2026-07-01T12:00:00+09:99"},
    "seven fraction digits": {**OTP, "occurred_at": "2026-07-01T12:00:00.1234567+09:00"},
    "a timestamp in the year 2300": {**OTP, "occurred_at": "2300-07-01T12:00:00+09:00"},
    "full-width digits in a timestamp": {**OTP, "occurred_at": "２０２６-07-01T12:00:00+09:00"},
    "a null timestamp": {**OTP, "occurred_at": None},
    "a fee as a string": {**PURCHASE, "monthly_fee_jpy": "550"},
    "a fee as a boolean": {**PURCHASE, "monthly_fee_jpy": True},
    "a negative fee": {**PURCHASE, "monthly_fee_jpy": -1},
    "a fee over the limit": {**PURCHASE, "monthly_fee_jpy": 1_000_001},
    "a term as a boolean": {**PURCHASE, "term_years": True},
    "a four-year term": {**PURCHASE, "term_years": 4},
    "an annual plan without a term": _without(PURCHASE, "term_years"),
    "an annual plan with a null term": {**PURCHASE, "term_years": None},
    "a monthly plan with a term": {**MONTHLY, "term_years": 1},
    "an unknown plan": {**PURCHASE, "plan": "weekly"},
    "an unknown locale": {**PURCHASE, "locale": "fr"},
    "an unknown channel": {**OTP, "channel": "email"},
    "an unknown kind": {**EXAMPLES["CancellationRequested"], "kind": "everything"},
    "resend as a string": {**OTP, "resend": "false"},
    "period 2026-13": {**CLOSE, "period": "2026-13"},
    "period 2026-00": {**CLOSE, "period": "2026-00"},
    "a period before the calendar": {**CLOSE, "period": "1999-12"},
    "a period after the calendar": {**CLOSE, "period": "2200-01"},
    "a full-width period": {**CLOSE, "period": "２０２６-06"},
    "a date with month 13": {**PURCHASE, "starts_on": "2026-13-01"},
    "a date before the calendar": {**PURCHASE, "starts_on": "1999-12-31"},
    "a date after the calendar": {**PURCHASE, "starts_on": "2200-01-01"},
    "a date without its day": {**PURCHASE, "starts_on": "2026-08"},
    "negative days left": {**REMINDER, "days_left": -1},
    "too many days left": {**REMINDER, "days_left": 3661},
    "a 050 number": {**PURCHASE, "phone": "050-1234-5678"},
    "a 020 number": {**OTP, "phone": "020-1234-5678"},
    "a Tokyo fixed line": {**OTP, "phone": "03-1234-5678"},
    "a fixed line without hyphens": {**OTP, "phone": "0312345678"},
    "a toll-free number": {**OTP, "phone": "0120-123-456"},
    "an unallocated mobile range": {**OTP, "phone": "090-0123-4567"},
    "a phone as a number": {**OTP, "phone": 9012345678},
    "a foreign number": {**OTP, "phone": "+14155550123"},
    "a bad confirmation number": {
        **EXAMPLES["MobileNumberRegistrationSubmitted"],
        "phone_confirmation": "050-1234-5678",
    },
    "an expiry: id from an upstream": {**TICK, "event_id": "expiry:2026-07-02"},
    "a month-end: id from an upstream": {**CLOSE, "event_id": "month-end:2026-06"},
    "a reminder: id from an upstream": {**REMINDER, "event_id": "reminder:SUB-2:2026-07-31:30"},
    "a term-end: id from an upstream": {**TERM_END, "event_id": "term-end:SUB-2:2026-07-31"},
    "an otp: id from an upstream": {**OTP, "event_id": "otp:login-1"},
    "an empty id": {**TICK, "event_id": ""},
    "a 129-character id": {**TICK, "event_id": "e" * 129},
    "an id with a space": {**TICK, "event_id": "pos 1"},
    "an id with a slash": {**TICK, "event_id": "pos/1"},
    "a non-ASCII id": {**TICK, "event_id": "pos-é"},
    "a subscription id with a space": {**EXAMPLES["RenewalConsentGiven"], "subscription_id": "S 1"},
    "an empty product": {**PURCHASE, "product": ""},
    "a 65-character product": {**PURCHASE, "product": "S" * 65},
    "a control character in a product": {**PURCHASE, "product": "Mobile\u0007Security"},
    "a newline in a product": {**PURCHASE, "product": "Mobile\nSecurity"},
    "an unknown schema_version": {**PURCHASE, "schema_version": 2},
    "schema_version 0": {**PURCHASE, "schema_version": 0},
    "schema_version as a string": {**PURCHASE, "schema_version": "1"},
    "schema_version as a boolean": {**PURCHASE, "schema_version": True},
}

# Phone shapes phonenumbers would read but SPEC section 8 does not name:
# refused by the schema's pattern and by subcycle alike.
OTHER_PHONE_SHAPES: dict[str, Any] = {
    "a phone with spaces": {**OTP, "phone": "090 1234 5678"},
    "E.164 with hyphens": {**OTP, "phone": "+81-90-1234-5678"},
    "a phone in parentheses": {**OTP, "phone": "(090)1234-5678"},
}

SAME_VERDICT: dict[str, tuple[Any, bool]] = {
    **{name: (doc, True) for name, doc in VALID.items()},
    **{name: (doc, False) for name, doc in INVALID.items()},
    **{name: (doc, False) for name, doc in OTHER_PHONE_SHAPES.items()},
}

# The schema admits these; subcycle refuses them (docs/schema.md).
ONLY_SUBCYCLE: dict[str, Any] = {
    "a day the month lacks": {**PURCHASE, "starts_on": "2026-02-30"},
    "29 February in a common year": {**PURCHASE, "starts_on": "2027-02-29"},
    "a timestamp whose Tokyo date is before the calendar": {
        **OTP,
        "occurred_at": "1999-12-31T14:59:59Z",
    },
    "a timestamp whose Tokyo date is after the calendar": {
        **OTP,
        "occurred_at": "2199-12-31T15:00:00Z",
    },
    # JSON can't tell 550.0 from 550 in JavaScript; subcycle reads it as a fraction.
    "a fee written with a fraction": {**PURCHASE, "monthly_fee_jpy": 550.0},
}

# subcycle reads these (phonenumbers parses many shapes); the schema promises three.


def subcycle_accepts(document: Any) -> bool:
    try:
        parse_upstream(document)
    except InvalidEvent:
        return False
    return True

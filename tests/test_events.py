"""The event catalogue refuses bad input with the field named (SPEC section 8)."""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import InvalidEvent, ids, json_schema, parse_event, patterns

PURCHASE: dict[str, Any] = {
    "type": "SubscriptionPurchased",
    "event_id": "p-1",
    "occurred_at": "2026-04-01T10:00:00+09:00",
    "subscription_id": "S1",
    "phone": "090-1234-5678",
    "product": "Mobile Security",
    "plan": "monthly",
    "starts_on": "2026-04-01",
    "monthly_fee_jpy": 550,
}


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    return [str(p) for p in caught.value.problems]


def test_a_valid_purchase_is_accepted_and_its_phone_stored_in_e164() -> None:
    event = parse_event(PURCHASE)
    assert event.phone == "+819012345678"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "phone", ["09012345678", "+819012345678", "０９０１２３４５６７８", "070-1234-5678"]
)
def test_national_e164_and_full_width_mobile_numbers_are_normalised(phone: str) -> None:
    event = parse_event({**PURCHASE, "phone": phone})
    assert event.phone.startswith("+81")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("phone", "why"),
    [
        ("050-1234-5678", "mobile"),
        ("020-1234-5678", "mobile"),
        ("03-1234-5678", "mobile"),
        ("٠٩٠١٢٣٤٥٦٧٨", "non-ASCII digits"),
        # Plain shapes with foreign digits after an ASCII prefix: never the fast path.
        ("090١٢٣٤٥٦٧٨", "non-ASCII digits"),
        ("+8190١٢٣٤٥٦٧٨", "non-ASCII digits"),
        ("090-١٢٣٤-٥٦٧٨", "non-ASCII digits"),
        ("+1 415 555 0100", "Japanese"),
        ("hello", "phone"),
    ],
)
def test_numbers_that_are_not_japanese_mobiles_are_refused(phone: str, why: str) -> None:
    [problem] = problems_of({**PURCHASE, "phone": phone})
    assert problem.startswith("phone:")
    assert why in problem


def test_an_unknown_type_is_refused_naming_the_type() -> None:
    assert problems_of({**PURCHASE, "type": "SubscriptionStolen"}) == [
        "type: unknown event type 'SubscriptionStolen'"
    ]


def test_a_missing_field_is_named() -> None:
    raw = dict(PURCHASE)
    del raw["subscription_id"]
    assert problems_of(raw) == ["subscription_id: field required"]


def test_an_extra_field_is_named() -> None:
    assert problems_of({**PURCHASE, "discount": 10}) == ["discount: unknown field"]


def test_a_timestamp_without_offset_is_refused_never_guessed() -> None:
    [problem] = problems_of({**PURCHASE, "occurred_at": "2026-04-01T10:00:00"})
    assert problem.startswith("occurred_at:")
    assert "offset" in problem


def test_strict_mode_refuses_a_number_in_a_string() -> None:
    [problem] = problems_of({**PURCHASE, "monthly_fee_jpy": "550"})
    assert problem.startswith("monthly_fee_jpy:")


def test_an_annual_purchase_needs_its_term() -> None:
    [problem] = problems_of({**PURCHASE, "plan": "annual"})
    assert problem.startswith("term_years:")


def test_a_cancellation_kind_outside_the_catalogue_is_refused() -> None:
    raw = {
        "type": "CancellationRequested",
        "event_id": "c",
        "occurred_at": "2026-06-01T00:00:00Z",
        "subscription_id": "S1",
        "kind": "everything",
    }
    [problem] = problems_of(raw)
    assert problem.startswith("kind:")


def test_a_billing_period_must_be_a_month() -> None:
    raw = {
        "type": "BillingCycleClosed",
        "event_id": "b",
        "occurred_at": "2026-07-01T00:00:00+09:00",
        "period": "2026-13",
    }
    [problem] = problems_of(raw)
    assert problem.startswith("period:")


def test_the_json_schema_covers_every_event_type() -> None:
    schema = json_schema()
    names = set(schema["$defs"])  # type: ignore[arg-type]
    assert {
        "SubscriptionPurchased",
        "RenewalConsentGiven",
        "CancellationRequested",
        "OtpRequested",
        "MobileNumberRegistrationSubmitted",
        "ExpiryTick",
        "SubscriptionExpiringSoon",
        "AnnualTermEnded",
        "BillingCycleClosed",
    } <= names


@settings(max_examples=3000, deadline=None)
@given(
    prefix=st.sampled_from(["+81", "0", "+810", "00", "081", "", "+8181"]),
    digits=st.text(alphabet="0123456789", min_size=6, max_size=12),
    hyphens=st.booleans(),
    suffix=st.sampled_from(["", "\n", " ", "-", "*"]),
)
def test_a_number_subcycle_reads_is_one_phonenumbers_calls_the_same_mobile(
    prefix: str, digits: str, hyphens: bool, suffix: str
) -> None:
    """The reader takes only the forms of SPEC section 8, and of those only
    what phonenumbers' own parse and classification call a Japanese mobile."""
    import phonenumbers

    from events.types import normalise_phone

    text = prefix + digits
    if hyphens and len(digits) >= 9:
        text = f"{prefix}{digits[:-8]}-{digits[-8:-4]}-{digits[-4:]}"
    text += suffix
    try:
        read = normalise_phone(text)
    except ValueError:
        return
    number = phonenumbers.parse(text, "JP")
    assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == read
    assert suffix == ""


def test_a_mobile_number_in_another_form_is_refused_saying_the_forms() -> None:
    for text in ("+81 90 1234 5678", "090 1234 5678", "(090) 1234-5678", "090-1234-5678*"):
        [problem] = problems_of({**PURCHASE, "phone": text})
        assert problem == "phone: is not written as 090-1234-5678, 09012345678 or +819012345678"


@settings(max_examples=3000, deadline=None)
@given(
    lead=st.text(alphabet="0123456789", min_size=1, max_size=4),
    rest=st.text(alphabet="0123456789", min_size=4, max_size=13),
)
def test_the_compiled_japanese_number_types_are_phonenumbers_own(lead: str, rest: str) -> None:
    import phonenumbers

    from events.mobile import japan_number_type

    nsn = (lead + rest).lstrip("0") or "1"
    number = phonenumbers.PhoneNumber(country_code=81, national_number=int(nsn))
    assert japan_number_type(nsn) == phonenumbers.number_type(number)


def test_every_japanese_number_range_gets_phonenumbers_own_type() -> None:
    """Each three-digit lead at every length JP numbers have: no range is missed."""
    import phonenumbers

    from events.mobile import japan_number_type

    for lead in range(100, 1000):
        for length in range(8, 18):
            for fill in "0", "5", "9":
                nsn = str(lead) + fill * (length - 3)
                number = phonenumbers.PhoneNumber(country_code=81, national_number=int(nsn))
                assert japan_number_type(nsn) == phonenumbers.number_type(number), nsn


@pytest.mark.parametrize("offset", ["+09:99", "+00:60", "-13:75"])
def test_an_offset_whose_minutes_are_not_00_to_59_is_refused_not_read_as_another(
    offset: str,
) -> None:
    [problem] = problems_of({**PURCHASE, "occurred_at": f"2026-04-01T10:00:00{offset}"})
    assert problem.startswith("occurred_at:")


def test_free_text_refuses_exactly_the_control_characters_on_every_code_point() -> None:
    # events.types judges free text with the schema's pattern (patterns.TEXT);
    # Unicode's category Cc is what it means, over the whole code space.
    text = re.compile(patterns.TEXT)
    disagree = [
        c
        for c in range(sys.maxunicode + 1)
        if (unicodedata.category(chr(c)) == "Cc") != (text.fullmatch(chr(c)) is None)
    ]
    assert disagree == []
    with pytest.raises(InvalidEvent, match="product: must not contain control characters"):
        parse_event(
            {
                "type": "SubscriptionPurchased",
                "event_id": "buy-1",
                "occurred_at": "2026-04-01T10:00:00+09:00",
                "subscription_id": "S1",
                "phone": "+819012345678",
                "product": "Mobile\u0085Security",
                "plan": "monthly",
                "starts_on": "2026-04-01",
                "monthly_fee_jpy": 550,
            }
        )


@pytest.mark.parametrize("event_id", [*ids.RESERVED_PREFIXES, "ok", "expiry", "poison-1"])
def test_a_reserved_prefix_is_found_as_the_plain_scan_finds_it(event_id: str) -> None:
    name = event_id + "x"
    assert ids.reserved_prefix(name) == next(
        (p for p in ids.RESERVED_PREFIXES if name.startswith(p)), None
    )

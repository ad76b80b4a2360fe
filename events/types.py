"""Value types shared by every event: timestamps with an offset, JST dates,
Japanese mobile numbers, billing periods.

Each type is an ``Annotated`` alias so pydantic validates it the same way in
strict Python mode (actors re-validating a decoded message) and in JSON mode
(``subcycle publish``), and exports a plain JSON Schema for upstream systems.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any

import phonenumbers
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from events.mobile import japan_number_type

JST = timezone(timedelta(hours=9), "JST")

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")
_MOBILE = phonenumbers.PhoneNumberType.MOBILE
# The shapes shops and upstream systems send almost always: +81 and a
# national significant number, or 0, an NSN and perhaps the usual hyphens.
_PLAIN_JP = re.compile(r"(?:\+81|0)([1-9][0-9]{8,9})")
_HYPHENATED_JP = re.compile(r"0([0-9]{2})-([0-9]{4})-([0-9]{4})")


def parse_timestamp(value: Any) -> Any:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO-8601 timestamp with an offset") from None
    else:
        raise ValueError("must be an ISO-8601 timestamp string with an offset")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("timestamp has no offset (e.g. +09:00); it is never guessed")
    return parsed


def _day(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("is not a calendar date") from None
    raise ValueError("must be a date YYYY-MM-DD")


def normalise_phone(value: str) -> str:
    """Return the E.164 form of a Japanese mobile number, or raise ValueError.

    Full-width digits are accepted (shop terminals send them); any other
    non-ASCII digit is refused rather than silently mapped.
    """
    text = value.translate(_FULL_WIDTH_DIGITS)
    fast = _plain_national_number(text)
    if fast is not None:
        _require_mobile(japan_number_type(fast))
        return f"+81{fast}"  # E.164: the NSN never starts with 0 here
    for char in text:
        if not char.isascii() and unicodedata.category(char) == "Nd":
            raise ValueError("contains non-ASCII digits")
    if not text.isascii() or len(text) > 20:
        raise ValueError("is not a phone number")
    try:
        number = phonenumbers.parse(text, "JP")
    except phonenumbers.NumberParseException:
        raise ValueError("is not a phone number") from None
    return _classified(number)


def _plain_national_number(text: str) -> str | None:
    """The NSN of a number in one of the plain shapes, without a full parse:
    half the cost of a purchase's validation. phonenumbers' own metadata
    still judges it (``events.mobile``), so both paths accept exactly the
    same numbers (tests/test_events.py checks them against each other)."""
    plain = _PLAIN_JP.fullmatch(text)
    if plain is not None:
        return plain.group(1)
    hyphenated = _HYPHENATED_JP.fullmatch(text)
    if hyphenated is not None and hyphenated.group(1)[0] != "0":
        return "".join(hyphenated.groups())
    return None


def _classified(number: phonenumbers.PhoneNumber) -> str:
    # number_type is UNKNOWN exactly when is_valid_number is False (both ask
    # the same metadata), so one classification serves both checks: it is the
    # costliest step of parsing a purchase (bench/throughput.py).
    kind = phonenumbers.number_type(number) if number.country_code == 81 else None
    _require_mobile(kind)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _require_mobile(kind: int | None) -> None:
    if kind is None or kind == phonenumbers.PhoneNumberType.UNKNOWN:
        raise ValueError("is not a valid Japanese phone number")
    if kind != _MOBILE:
        raise ValueError("is not a Japanese mobile number (070/080/090); 050 and 020 are refused")


def _phone(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return normalise_phone(value)


def _period(value: str) -> str:
    if not _PERIOD.match(value):
        raise ValueError("must be a billing month YYYY-MM")
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_timestamp),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "ISO-8601 with offset"}
    ),
]
Day = Annotated[date, BeforeValidator(_day), WithJsonSchema({"type": "string", "format": "date"})]
Phone = Annotated[
    str,
    BeforeValidator(_phone),
    WithJsonSchema(
        {
            "type": "string",
            "description": "Japanese mobile number, national (090-1234-5678) or E.164",
            "examples": ["+819012345678", "090-1234-5678"],
        }
    ),
]
Period = Annotated[
    str,
    Field(min_length=7, max_length=7),
    AfterValidator(_period),
    WithJsonSchema({"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}),
]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@\-]+$")]

"""Value types shared by every event, and the grammar of the edge (SPEC
sections 2, 8 and 11): timestamps with a whole-minute offset, JST dates and
billing months in a bounded calendar, Japanese mobile numbers, identifiers.

Each type is an ``Annotated`` alias, so pydantic judges it the same way in
strict Python mode (an actor re-validating a decoded message, our own code
building a follow-up) and for ``subcycle publish`` or the HTTP API, and
exports a plain JSON Schema for upstream systems. Every value is read in one
canonical form: timestamps in +09:00, phones in E.164, dates as dates.

Digits are ASCII: the patterns say ``[0-9]``, never ``\\d`` (which matches
every Unicode digit, TRAPS), so ``２０２６-05`` is refused naming its field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any

import phonenumbers
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from events import ids, patterns
from events.mobile import japan_number_type

JST = timezone(timedelta(hours=9), "JST")

# The calendar every date and timestamp must fall in (JST), so no rule can
# overflow on a date; a term or a month computed from one may pass its end.
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)
CALENDAR = f"{EARLIEST.isoformat()} … {LATEST.isoformat()} (JST)"
MAX_OFFSET = timedelta(hours=14)

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
# RFC 3339 with the seconds optional; the offset is Z or a whole minute
# (its minutes 00–59: Python's fromisoformat would read +09:99 as +10:39).
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-5][0-9])$"
)
IDENTIFIER_PATTERN = r"^[A-Za-z0-9._:@-]{1,128}$"
_DATE = re.compile(DATE_PATTERN)
_PERIOD = re.compile(PERIOD_PATTERN)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)

_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")
_MOBILE = phonenumbers.PhoneNumberType.MOBILE
# The shapes shops and upstream systems send almost always: +81 and a
# national significant number, or 0, an NSN and perhaps the usual hyphens.
_TEXT = re.compile(patterns.TEXT)  # no character of Unicode's category Cc
_PLAIN_JP = re.compile(r"(?:\+81|0)([1-9][0-9]{8,9})")
_HYPHENATED_JP = re.compile(r"0([0-9]{2})-([0-9]{4})-([0-9]{4})")


def in_calendar(day: date) -> bool:
    return EARLIEST <= day <= LATEST


def parse_timestamp(value: Any) -> datetime:
    """An ISO-8601 timestamp with an offset, in the calendar, as +09:00."""
    if isinstance(value, datetime):
        parsed = value
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValueError("timestamp has no offset (e.g. +09:00); it is never guessed")
    elif isinstance(value, str):
        parsed = _timestamp_text(value)
    else:
        raise ValueError("must be an ISO-8601 timestamp string with an offset")
    offset = parsed.utcoffset()
    assert offset is not None
    if abs(offset) > MAX_OFFSET or offset % timedelta(minutes=1):
        raise ValueError("offset must be a whole minute within ±14:00")
    try:
        local = parsed.astimezone(JST)
    except OverflowError:
        raise ValueError(f"must be within {CALENDAR}") from None
    if not in_calendar(local.date()):
        raise ValueError(f"must be within {CALENDAR}")
    return local


def _timestamp_text(value: str) -> datetime:
    if _TIMESTAMP.fullmatch(value) is None:
        if _DATE.fullmatch(value[:10]) and not re.search(r"(Z|[+-][0-9:]+)$", value[10:]):
            raise ValueError("timestamp has no offset (e.g. +09:00); it is never guessed")
        if not value.isascii():
            raise ValueError("must be an ISO-8601 timestamp in ASCII digits, with an offset")
        raise ValueError(
            "must be an ISO-8601 timestamp with an offset, YYYY-MM-DDTHH:MM[:SS[.ffffff]]±HH:MM"
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a calendar date and time") from None


def parse_day(value: Any) -> date:
    """A date ``YYYY-MM-DD`` in ASCII digits, in the calendar."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError("is not a calendar date") from None
    else:
        raise ValueError("must be a date YYYY-MM-DD in ASCII digits")
    if not in_calendar(day):
        raise ValueError(f"must be within {CALENDAR}")
    return day


def parse_period(value: Any) -> str:
    """A billing month ``YYYY-MM`` in ASCII digits, in the calendar."""
    if not isinstance(value, str) or _PERIOD.fullmatch(value) is None:
        raise ValueError("must be a billing month YYYY-MM in ASCII digits")
    if not EARLIEST.year <= int(value[:4]) <= LATEST.year:
        raise ValueError(f"must be within {EARLIEST:%Y-%m} … {LATEST:%Y-%m}")
    return value


def parse_identifier(value: Any) -> str:
    if not ids.is_identifier(value):
        raise ValueError(f"must be {ids.GRAMMAR}")
    return str(value)


PHONE_FORMS = "090-1234-5678, 09012345678 or +819012345678"


def normalise_phone(value: str) -> str:
    """Return the E.164 form of a Japanese mobile number, or raise ValueError.

    Read in the forms SPEC section 8 names (national ``090-1234-5678`` or
    ``09012345678``, E.164 ``+819012345678``), full-width digits accepted
    (shop terminals send them); any other non-ASCII digit is refused rather
    than silently mapped. These are exactly the forms the exported schema's
    pattern admits (events/patterns.py), so an upstream's validator and
    subcycle agree on every number. phonenumbers' JP metadata judges the
    number itself (``events.mobile``).
    """
    text = value.translate(_FULL_WIDTH_DIGITS)
    nsn = _national_number(text)
    if nsn is not None:
        _require_mobile(japan_number_type(nsn))
        return f"+81{nsn}"  # E.164: the NSN never starts with 0 here
    for char in text:
        if not char.isascii() and unicodedata.category(char) == "Nd":
            raise ValueError("contains non-ASCII digits")
    # Not one of the forms: say why as precisely as phonenumbers can tell.
    if not text.isascii() or len(text) > 20:
        raise ValueError("is not a phone number")
    try:
        number = phonenumbers.parse(text, "JP")
    except phonenumbers.NumberParseException:
        raise ValueError("is not a phone number") from None
    _classified(number)
    raise ValueError(f"is not written as {PHONE_FORMS}")


def _national_number(text: str) -> str | None:
    """The national significant number of a number in one of the forms."""
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


def _phone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return normalise_phone(value)


def _text(value: str) -> str:
    # The schema's own pattern (tests/test_events.py checks it against
    # unicodedata over every code point): one rule for subcycle and upstreams.
    if _TEXT.fullmatch(value) is None:
        raise ValueError("must not contain control characters")
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_timestamp),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": patterns.TIMESTAMP,
            "description": "RFC 3339 with an offset (Z or ±HH:MM within ±14:00), seconds "
            f"optional; its date in Tokyo within {CALENDAR}",
            "examples": ["2026-07-01T12:00:00+09:00", "2026-07-01T03:00Z"],
        }
    ),
]
Day = Annotated[
    date,
    BeforeValidator(parse_day),
    WithJsonSchema(
        {"type": "string", "pattern": patterns.DAY, "description": f"YYYY-MM-DD within {CALENDAR}"}
    ),
]
Phone = Annotated[
    str,
    BeforeValidator(_phone),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": patterns.PHONE,
            "description": "Japanese mobile number (060/070/080/090; 050 and 020 are refused): "
            "09012345678, 090-1234-5678 or +819012345678, full-width digits allowed",
            "examples": ["+819012345678", "090-1234-5678"],
        }
    ),
]
Period = Annotated[
    str,
    BeforeValidator(parse_period),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": patterns.PERIOD,
            "description": f"billing month YYYY-MM within {EARLIEST:%Y-%m} … {LATEST:%Y-%m}",
        }
    ),
]
Identifier = Annotated[
    str,
    BeforeValidator(parse_identifier),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 128, "pattern": IDENTIFIER_PATTERN}
    ),
]
# An event id reads as any identifier (an actor re-validates derived ids
# found on its queue), but the schema is the upstreams' contract, and
# upstreams are refused the prefixes subcycle derives (events.edge).
EventId = Annotated[
    str,
    BeforeValidator(parse_identifier),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": patterns.UPSTREAM_EVENT_ID,
            "description": "the idempotency key: "
            + ids.GRAMMAR
            + ", not starting with a prefix subcycle derives ("
            + ", ".join(ids.RESERVED_PREFIXES)
            + ")",
        }
    ),
]
Text = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        json_schema_extra={"pattern": patterns.TEXT, "description": "no control characters"},
    ),
    AfterValidator(_text),
]

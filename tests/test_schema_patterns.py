"""The schema's patterns judge as subcycle judges (events/patterns.py).

Where a pattern says valid, subcycle accepts (except what only subcycle can
judge, named in each test); where subcycle accepts, the pattern says valid
(for phones: on the shapes the pattern covers). Patterns are matched as
ECMAScript matches them: ``$`` is the end of the text, where Python's ``re``
would also match before a final newline (tests/test_schema_ajv.py runs the
same patterns in Ajv itself).
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import ids, patterns
from events.types import (
    JST,
    in_calendar,
    normalise_phone,
    parse_day,
    parse_period,
    parse_timestamp,
)

FULL_WIDTH = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")
ASCII_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def matches(pattern: str, text: str) -> bool:
    assert pattern.startswith("^")
    assert pattern.endswith("$")
    return re.search(pattern.removesuffix("$") + r"\Z", text) is not None


def accepted(reader, text: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        reader(text)
    except ValueError:
        return False
    return True


# Phones ---------------------------------------------------------------------


def shapes(nsn: str) -> list[str]:
    """Every shape the pattern covers for a national significant number."""
    found = [f"0{nsn}", f"+81{nsn}"]
    if len(nsn) == 10:
        found.append(f"0{nsn[:2]}-{nsn[2:6]}-{nsn[6:]}")
    return found


def test_every_three_digit_range_in_every_covered_shape_gets_subcycles_verdict() -> None:
    """Exhaustive over the leads phonenumbers classes by: no range is missed."""
    for lead in range(100, 1000):
        for fill in "0", "5", "9":
            for length in 9, 10:
                for text in shapes(str(lead) + fill * (length - 3)):
                    assert matches(patterns.PHONE, text) == accepted(normalise_phone, text), text


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("090-1234-5678", True),
        ("09012345678", True),
        ("+819012345678", True),
        ("080-2345-6789", True),
        ("070-1234-5678", True),
        ("060-1234-5678", True),  # phonenumbers classes 060 as mobile
        ("０９０－１２３４－５６７８", True),
        ("＋８１９０１２３４５６７８", True),
        ("０9０12345678", True),  # mixed widths: subcycle normalises each digit
        ("050-1234-5678", False),  # VoIP
        ("020-1234-5678", False),  # pager
        ("0312345678", False),  # Tokyo fixed line
        ("0612345678", False),  # Osaka fixed line
        ("090-0123-4567", False),  # 0900… is not allocated
        ("+81312345678", False),
    ],
)
def test_the_phone_pattern_on_the_numbers_people_type(number: str, valid: bool) -> None:
    assert matches(patterns.PHONE, number) is valid
    assert accepted(normalise_phone, number) is valid


@pytest.mark.parametrize(
    "number",
    ["+81 90-1234-5678", "+81-90-1234-5678", "090 1234 5678", "(090)1234-5678", "9012345678"],
)
def test_other_shapes_are_refused_by_the_pattern_and_by_subcycle_alike(number: str) -> None:
    """phonenumbers reads many more shapes; subcycle reads the three the
    schema promises (SPEC section 8), so both judge every number alike."""
    assert not matches(patterns.PHONE, number)
    assert not accepted(normalise_phone, number)


@st.composite
def covered_shapes(draw: st.DrawFn) -> str:
    nsn = draw(st.text(alphabet="0123456789", min_size=9, max_size=10))
    text = draw(st.sampled_from(shapes(nsn)))
    widths = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    pairs = zip(text, widths, strict=True)
    return "".join(c.translate(FULL_WIDTH) if wide else c for c, wide in pairs)


@settings(max_examples=3000, deadline=None)
@given(covered_shapes())
def test_on_its_shapes_the_phone_pattern_says_valid_exactly_when_subcycle_accepts(
    text: str,
) -> None:
    assert matches(patterns.PHONE, text) == accepted(normalise_phone, text)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        covered_shapes(),
        st.text(alphabet="0123456789０９+＋-－ ()8１", min_size=9, max_size=16),
    )
)
def test_whatever_the_phone_pattern_admits_subcycle_stores_as_that_number(text: str) -> None:
    if matches(patterns.PHONE, text):
        ascii_digits = re.sub("[^0-9]", "", text.translate(ASCII_DIGITS))
        national = ascii_digits[2:] if text[0] in "+＋" else ascii_digits[1:]
        assert normalise_phone(text) == "+81" + national


# Dates, months, timestamps ---------------------------------------------------


@settings(max_examples=3000, deadline=None)
@given(
    year=st.integers(1990, 2210),
    month=st.integers(0, 13),
    day=st.integers(0, 32),
    wide=st.booleans(),
)
def test_the_date_pattern_is_subcycles_reader_but_for_days_a_month_lacks(
    year: int, month: int, day: int, wide: bool
) -> None:
    text = f"{year:04}-{month:02}-{day:02}"
    if wide:
        text = text.translate(FULL_WIDTH)
    if matches(patterns.DAY, text) and not accepted(parse_day, text):
        # Only subcycle knows 2026-02-30 is not a day: the pattern admits 1..31.
        with pytest.raises(ValueError, match="day is out of range"):
            date.fromisoformat(text)
    else:
        assert matches(patterns.DAY, text) == accepted(parse_day, text)


@settings(max_examples=2000, deadline=None)
@given(year=st.integers(1990, 2210), month=st.integers(0, 13), wide=st.booleans())
def test_the_period_pattern_is_exactly_subcycles_reader(year: int, month: int, wide: bool) -> None:
    text = f"{year:04}-{month:02}"
    if wide:
        text = text.translate(FULL_WIDTH)
    assert matches(patterns.PERIOD, text) == accepted(parse_period, text)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    year = draw(st.sampled_from([1998, 1999, 2000, 2026, 2199, 2200, 2201]))
    head = (
        f"{year:04}-{draw(st.integers(0, 13)):02}-{draw(st.integers(0, 32)):02}"
        f"{draw(st.sampled_from(['T', 'T', 't', ' ']))}"
        f"{draw(st.integers(0, 24)):02}:{draw(st.integers(0, 60)):02}"
    )
    seconds = draw(st.sampled_from(["", ":00", ":59", ":60", ":30.5", ":30.123456", ":30.1234567"]))
    sign = draw(st.sampled_from(["+", "-"]))
    offset = draw(
        st.one_of(
            st.sampled_from(["Z", "z", "", "+09", "+0900"]),
            st.builds(lambda h, m: f"{sign}{h:02}:{m:02}", st.integers(0, 15), st.integers(0, 60)),
        )
    )
    return head + seconds + offset


def _outside_what_a_pattern_can_say(text: str) -> bool:
    """A day the month lacks, or a JST date outside the calendar."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return True
    try:
        return not in_calendar(moment.astimezone(JST).date())
    except OverflowError:
        return True


@settings(max_examples=5000, deadline=None)
@given(timestamps())
def test_the_timestamp_pattern_never_refuses_what_subcycle_accepts(text: str) -> None:
    if accepted(parse_timestamp, text):
        assert matches(patterns.TIMESTAMP, text)


@settings(max_examples=5000, deadline=None)
@given(timestamps())
def test_what_the_timestamp_pattern_admits_subcycle_accepts_but_for_the_calendar(
    text: str,
) -> None:
    if matches(patterns.TIMESTAMP, text) and not accepted(parse_timestamp, text):
        assert _outside_what_a_pattern_can_say(text), text


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2026-07-01T12:00:00+09:00", True),
        ("2026-07-01T12:00+09:00", True),
        ("2026-07-01T03:00:00.123456Z", True),
        ("2026-07-01T12:00:00-14:00", True),
        ("2026-07-01T12:00:00", False),  # naive: never guessed
        ("2026-07-01T12:00:00+14:30", False),
        ("2026-07-01T12:00:00+15:00", False),
        ("2026-07-01T12:00:00+09:99", False),  # not read as +10:39
        ("2026-07-01T12:00:00+00:60", False),
        ("2026-13-01T12:00:00+09:00", False),
        ("2026-07-01T24:00:00+09:00", False),
        ("２０２６-07-01T12:00:00+09:00", False),
        ("2026-07-01 12:00:00+09:00", False),
    ],
)
def test_the_timestamp_pattern_on_the_timestamps_people_write(text: str, valid: bool) -> None:
    assert matches(patterns.TIMESTAMP, text) is valid
    assert accepted(parse_timestamp, text) is valid


# Event ids -------------------------------------------------------------------


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="abcdeimnoprtxy-:.@_09Aé ", min_size=0, max_size=20),
        st.builds(
            lambda prefix, rest: prefix + rest,
            st.sampled_from([*ids.RESERVED_PREFIXES, "expiry", "Expiry:", "pos:", "x-expiry:"]),
            st.text(alphabet="abc:0-9", max_size=8),
        ),
        st.text(alphabet="a", min_size=127, max_size=130),
    )
)
def test_the_event_id_pattern_admits_exactly_what_subcycle_takes_from_an_upstream(
    text: str,
) -> None:
    takes = ids.is_identifier(text) and ids.reserved_prefix(text) is None
    assert matches(patterns.UPSTREAM_EVENT_ID, text) == takes


# Free text ------------------------------------------------------------------


def test_the_text_pattern_refuses_exactly_the_characters_subcycle_refuses() -> None:
    from events.types import _text

    for code in [*range(0x10000), 0x1F600, 0xE0001, 0x10FFFF]:
        text = f"Mobile{chr(code)}Security"
        assert matches(patterns.TEXT, text) == accepted(_text, text), hex(code)

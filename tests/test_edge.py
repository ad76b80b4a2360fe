"""The edge (SPEC section 11): one set of rules and one set of words for every
way in. Each case is refused naming its field, through the library's parser,
through the publisher and through ``subcycle publish``, and nothing is
enqueued."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import InvalidEvent, edge, parse_event, parse_upstream, parse_upstream_json
from subcycle.bootstrap import App
from subcycle.cli import main
from tests.support import purchase

CLOSE = {
    "type": "BillingCycleClosed",
    "event_id": "close-1",
    "occurred_at": "2026-06-01T00:00:00+09:00",
    "period": "2026-05",
}
ANNUAL = {
    "type": "SubscriptionPurchased",
    "event_id": "pos-1",
    "occurred_at": "2026-04-01T10:00:00+09:00",
    "subscription_id": "S1",
    "phone": "090-1234-5678",
    "product": "Mobile Security",
    "plan": "annual",
    "term_years": 1,
    "starts_on": "2026-04-01",
    "monthly_fee_jpy": 550,
}
FOREIGN_DIGITS = ["２０２６", "٢٠٢٦", "۲۰۲۶", "२०२६", "২০২৬"]  # full-width, Arabic-Indic, …


def refusal(raw: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_upstream(raw)
    return caught.value


def problems(raw: Any) -> list[str]:
    return [str(p) for p in refusal(raw).problems]


@pytest.mark.parametrize("digits", FOREIGN_DIGITS)
def test_a_period_in_non_ascii_digits_is_refused_naming_the_field(digits: str) -> None:
    assert problems({**CLOSE, "period": f"{digits}-05"}) == [
        "period: must be a billing month YYYY-MM in ASCII digits"
    ]


@pytest.mark.parametrize("digits", FOREIGN_DIGITS)
@pytest.mark.parametrize("field", ["starts_on", "occurred_at"])
def test_dates_and_timestamps_in_non_ascii_digits_are_refused(digits: str, field: str) -> None:
    value = ANNUAL[field].replace("2026", digits)
    [problem] = problems({**ANNUAL, field: value})
    assert problem.startswith(f"{field}: ")
    assert "ASCII" in problem


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("starts_on", "9999-12-31"),
        ("starts_on", "1999-12-31"),
        ("starts_on", "2200-01-01"),
        ("occurred_at", "0001-01-01T00:00+14:00"),
        ("occurred_at", "2000-01-01T00:00:00+14:00"),  # 1999-12-31 in JST
        ("occurred_at", "2200-01-01T00:00:00+09:00"),
    ],
)
def test_the_calendar_is_bounded_to_2000_through_2199_jst(field: str, value: str) -> None:
    assert problems({**ANNUAL, field: value}) == [
        f"{field}: must be within 2000-01-01 … 2199-12-31 (JST)"
    ]


@pytest.mark.parametrize("period", ["0000-01", "1999-12", "2200-01"])
def test_a_period_outside_the_calendar_is_refused(period: str) -> None:
    assert problems({**CLOSE, "period": period}) == ["period: must be within 2000-01 … 2199-12"]


def test_the_calendar_s_first_and_last_instants_are_accepted() -> None:
    for at in ("2000-01-01T00:00:00+09:00", "2199-12-31T23:59:59.999999+09:00"):
        assert parse_upstream({**CLOSE, "occurred_at": at, "period": "2000-01"})


@pytest.mark.parametrize("offset", ["+09:00:30", "+23:59", "+14:01", "-14:30", "+0900"])
def test_an_offset_must_be_a_whole_minute_within_14_hours(offset: str) -> None:
    [problem] = problems({**CLOSE, "occurred_at": f"2026-06-01T00:00:00{offset}"})
    assert problem.startswith("occurred_at: ")


@pytest.mark.parametrize("offset", ["+14:00", "-12:00", "Z", "+05:45"])
def test_offsets_within_14_hours_are_accepted(offset: str) -> None:
    assert parse_upstream({**CLOSE, "occurred_at": f"2026-06-01T00:00:00{offset}"})


def test_timestamps_are_read_in_one_canonical_form() -> None:
    utc = parse_upstream({**CLOSE, "occurred_at": "2026-06-30T15:00:00Z", "period": "2026-06"})
    jst = parse_upstream({**CLOSE, "occurred_at": "2026-07-01T00:00:00+09:00", "period": "2026-06"})
    assert utc.wire() == jst.wire()
    assert utc.wire()["occurred_at"] == "2026-07-01T00:00:00+09:00"


@pytest.mark.parametrize("value", [True, False, 1.0, "1"])
def test_term_years_is_an_integer_and_never_a_boolean(value: object) -> None:
    [problem] = problems({**ANNUAL, "term_years": value})
    assert problem.startswith("term_years: ")


def test_a_duplicate_key_is_refused_naming_it() -> None:
    text = json.dumps(ANNUAL)[:-1] + ', "monthly_fee_jpy": 1}'
    with pytest.raises(InvalidEvent) as caught:
        parse_upstream_json(text)
    assert [str(p) for p in caught.value.problems] == ["monthly_fee_jpy: duplicate key"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_that_are_not_numbers_are_refused(constant: str) -> None:
    text = json.dumps(ANNUAL).replace("550", constant)
    with pytest.raises(InvalidEvent, match="not valid JSON"):
        parse_upstream_json(text)


@pytest.mark.parametrize(
    "event_id",
    ["expiry:2026-07-01", "month-end:2026-06", "term-end:S1:2026-07-31", "reminder:S1:x:30"],
)
def test_an_upstream_cannot_take_an_id_subcycle_derives(event_id: str) -> None:
    otp = {
        "type": "OtpRequested",
        "event_id": event_id,
        "occurred_at": "2026-07-01T12:00:00+09:00",
        "phone": "090-1234-5678",
        "channel": "sms",
    }
    refused = refusal(otp)
    assert refused.reason == "reserved_event_id"
    [problem] = [str(p) for p in refused.problems]
    assert problem.startswith("event_id: reserved_event_id: ")


def test_a_derived_id_on_another_event_type_is_refused_even_from_a_queue() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(
            {
                "type": "ExpiryTick",
                "event_id": "month-end:2026-06",
                "occurred_at": CLOSE["occurred_at"],
            }
        )
    assert caught.value.reason == "reserved_event_id"


@pytest.mark.parametrize(
    "event_id", ["", "a" * 129, "has space", "brace{", "brace}", "タイプ", "x\n", "a/b"]
)
def test_an_id_outside_the_grammar_is_refused(event_id: str) -> None:
    assert problems({**CLOSE, "event_id": event_id}) == [
        "event_id: must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ -"
    ]


@given(st.text(min_size=1, max_size=12).filter(lambda s: not s.isascii()))
def test_no_non_ascii_text_is_ever_a_period(text: str) -> None:
    with pytest.raises(InvalidEvent):
        parse_upstream({**CLOSE, "period": text})


def test_the_publisher_refuses_a_reserved_id_and_enqueues_nothing(app: App) -> None:
    ours = purchase("S1")
    theirs = parse_event({**CLOSE, "event_id": "month-end:2026-05"})
    with pytest.raises(InvalidEvent, match="reserved_event_id"):
        app.publisher.publish([ours, theirs])
    assert app.store.events.status(ours.event_id) is None


def test_publish_says_the_same_words_naming_the_line(
    tmp_path: Path, cli_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps({**CLOSE, "period": "２０２６-05"}),
        json.dumps({**CLOSE, "event_id": "month-end:2026-05"}),
        json.dumps(ANNUAL)[:-1] + ', "plan": "monthly"}',
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert main(["publish", str(path)]) == 1
    err = capsys.readouterr().err
    assert "line 1: period: must be a billing month YYYY-MM in ASCII digits" in err
    assert "line 2: event_id: reserved_event_id: ids starting 'month-end:'" in err
    assert "line 3: plan: duplicate key" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        "\ufeff{}",
        b"\xef\xbb\xbf{}",
        '{"a": 1}'.encode("utf-16"),
        '{"a": 1, "a": 2}',
        '{"a": NaN}',
        "[1,",
        b"\xff",
    ],
)
def test_the_decoder_built_once_reads_as_json_loads_with_the_hooks(text: str | bytes) -> None:
    def outcome(read: Callable[[str | bytes], object]) -> object:
        try:
            return read(text)
        except (ValueError, UnicodeDecodeError) as e:
            return type(e), str(e)

    def plain(t: str | bytes) -> object:
        return json.loads(t, object_pairs_hook=edge._unique_keys, parse_constant=edge._no_constant)

    assert outcome(edge._loads) == outcome(plain)

"""Reminder templates: one per locale, each in one SMS segment (70 characters
once Japanese text is in it, 160 for plain ASCII), with the date and the URL."""

from __future__ import annotations

from datetime import date

import pytest

from workers.messages import GSM_SEGMENT, UCS2_SEGMENT, segment_limit
from workers.messages.reminders import (
    LONGEST_DATE,
    TEMPLATES,
    renewal_reminder,
    renewal_url_problem,
)
from workers.policies import DEFAULT_RENEWAL_URL

LONGEST_URL = "https://" + "r" * 28  # 36 characters, the longest the templates allow


def test_japanese_text_is_held_to_70_characters_and_ascii_to_160() -> None:
    assert segment_limit("ご契約") == UCS2_SEGMENT == 70
    assert segment_limit("Your contract") == GSM_SEGMENT == 160


@pytest.mark.parametrize("locale", sorted(TEMPLATES))
@pytest.mark.parametrize("url", [DEFAULT_RENEWAL_URL, LONGEST_URL])
def test_every_reminder_fits_one_sms_segment(locale: str, url: str) -> None:
    text = renewal_reminder(locale, LONGEST_DATE, url)
    assert len(text) <= segment_limit(text)


def test_the_japanese_reminder_gives_the_expiry_date_and_the_renewal_url() -> None:
    text = renewal_reminder("ja", date(2026, 7, 31), DEFAULT_RENEWAL_URL)
    assert (
        text == f"ご契約は2026年7月31日で満了します。継続のお手続きはこちら：{DEFAULT_RENEWAL_URL}"
    )
    assert segment_limit(text) == 70


def test_the_english_reminder_is_plain_ascii_with_the_date_and_the_url() -> None:
    text = renewal_reminder("en", date(2026, 7, 31), DEFAULT_RENEWAL_URL)
    assert text.isascii()
    assert "July 31, 2026" in text
    assert DEFAULT_RENEWAL_URL in text


def test_an_unknown_locale_gets_the_japanese_default() -> None:
    assert renewal_reminder("fr", date(2026, 7, 31), "https://x.jp/r").startswith("ご契約")


def test_a_renewal_url_too_long_for_one_segment_is_refused() -> None:
    assert renewal_url_problem(LONGEST_URL) is None
    problem = renewal_url_problem(LONGEST_URL + "x")
    assert problem is not None
    assert "one SMS segment" in problem


def test_a_renewal_url_must_be_http() -> None:
    assert renewal_url_problem("ftp://x.jp/r") == "must be an http(s) URL"

"""The texts of a verification code: one SMS segment, a voice call read twice."""

from __future__ import annotations

import pytest

from workers.messages.otp import sms_text, voice_text


def test_the_japanese_sms_fits_one_segment_with_product_code_and_warning() -> None:
    text = sms_text("Mobile Security", "012345", "ja")

    assert len(text) <= 70
    assert "Mobile Security" in text
    assert "012345" in text
    assert "教えないでください" in text
    assert "http" not in text


def test_the_longest_product_name_still_fits_one_segment() -> None:
    assert len(sms_text("X" * 20, "012345", "ja")) <= 70


def test_a_product_name_too_long_for_one_segment_is_refused() -> None:
    with pytest.raises(ValueError, match="product"):
        sms_text("X" * 60, "012345", "ja")


def test_the_english_sms_says_not_to_share_the_code() -> None:
    text = sms_text("Mobile Security", "012345", "en")

    assert "012345" in text
    assert "Do not share this code" in text
    assert "http" not in text


@pytest.mark.parametrize(
    ("locale", "spoken"), [("ja", "0、1、2、3、4、5"), ("en", "0, 1, 2, 3, 4, 5")]
)
def test_the_voice_call_reads_the_digits_one_by_one_twice(locale: str, spoken: str) -> None:
    text = voice_text("Mobile Security", "012345", locale)

    assert text.count(spoken) == 2
    assert "012345" not in text

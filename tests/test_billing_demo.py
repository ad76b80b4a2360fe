"""The demo tells the billing part of the story (on the embedded Redis)."""

from __future__ import annotations

import re

import pytest

from subcycle.cli import main


def test_the_demo_charges_the_june_cancellation_for_june_and_not_for_july(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    ledgers = dict(re.findall(r"ledger (\d{4}-\d{2}): .*?\n((?:      .*\n)*)", out))
    assert "SUB-M-1" in ledgers["2026-06"]
    assert "SUB-M-1" not in ledgers["2026-07"]
    assert '"last_billed_period": "2026-06"' in out.replace("\n", "")


def test_the_demo_drives_one_step_of_the_story_over_http(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "POST /v1/events (the shop's purchase) → 202" in out
    assert "tries a cancellation → 403" in out
    assert '"license_type": "Monthly"' in out

"""Every event may say which version of its shape it has (docs/schema.md);
saying nothing, or the current version, changes nothing on the wire."""

from __future__ import annotations

from typing import Any

import pytest

from events import InvalidEvent, parse_event, parse_upstream
from events.base import FIRST_VERSION, SCHEMA_VERSION

CONSENT: dict[str, Any] = {
    "type": "RenewalConsentGiven",
    "event_id": "csp-1",
    "occurred_at": "2026-07-02T09:15:00+09:00",
    "subscription_id": "SUB-2",
}
# The fingerprint of CONSENT as subcycle recorded it before events had a version.
FINGERPRINT_BEFORE_VERSIONS = "4373df2e1a1d13e369f63cd8d35aa971"


def test_an_event_that_does_not_say_has_the_current_version() -> None:
    assert SCHEMA_VERSION == FIRST_VERSION == 1
    assert parse_upstream(CONSENT).schema_version == 1


def test_the_wire_form_and_fingerprint_are_what_they_were_before_versions_existed() -> None:
    event = parse_upstream(CONSENT)
    assert "schema_version" not in event.wire()
    assert event.fingerprint() == FINGERPRINT_BEFORE_VERSIONS


def test_saying_the_current_version_is_the_same_event_as_saying_nothing() -> None:
    said = parse_upstream({**CONSENT, "schema_version": 1})
    assert said.wire() == parse_upstream(CONSENT).wire()
    assert said == parse_upstream(CONSENT)


def test_the_wire_form_reads_back_as_the_same_event() -> None:
    event = parse_upstream({**CONSENT, "schema_version": 1})
    assert parse_event(event.wire()) == event


@pytest.mark.parametrize("version", [2, 0, True, "1", 1.0, None])
def test_an_unknown_version_is_refused_naming_the_field(version: object) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_upstream({**CONSENT, "schema_version": version})
    [problem] = caught.value.problems
    assert problem.field == "schema_version"


def test_the_refusal_of_a_newer_version_says_which_version_the_type_has() -> None:
    with pytest.raises(
        InvalidEvent, match=r"schema_version: unknown version 2; this event type reads 1"
    ):
        parse_upstream({**CONSENT, "schema_version": 2})

"""Settings of the reminders and the gateway: read from the environment,
refused naming the variable, and wired by the composition root."""

from __future__ import annotations

from datetime import time

import fakeredis
import pytest
from pydantic import ValidationError

from subcycle.annual_config import reminder_policy
from subcycle.bootstrap import build
from subcycle.settings import Settings
from workers.gateway.http import HttpGateway
from workers.gateway.outbox import OutboxGateway


def test_offsets_are_read_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUBCYCLE_REMINDER_OFFSETS_DAYS", "7, 30,1")
    assert Settings().reminder_offsets_days == (30, 7, 1)


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("SUBCYCLE_REMINDER_OFFSETS_DAYS", "thirty", "reminder_offsets_days"),
        ("SUBCYCLE_REMINDER_OFFSETS_DAYS", "400", "reminder_offsets_days"),
        ("SUBCYCLE_REMINDER_DAYTIME", "21:00-09:00", "reminder_daytime"),
        ("SUBCYCLE_RENEWAL_URL", "https://example.jp/" + "x" * 30, "renewal_url"),
        ("SUBCYCLE_GATEWAY", "http", "gateway_url"),
    ],
)
def test_a_bad_value_is_refused_naming_its_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert refused.value.errors()[0]["loc"] == (field,)


def test_the_daytime_window_becomes_the_reminder_policy() -> None:
    policy = reminder_policy(Settings(reminder_daytime="08:30-20:00"))
    assert (policy.daytime_start, policy.daytime_end) == (time(8, 30), time(20, 0))


def test_the_composition_root_picks_the_gateway_named_in_the_settings() -> None:
    client = fakeredis.FakeRedis()
    outbox = build(Settings(key_prefix="a:", queue_namespace="a"), client=client)
    assert isinstance(outbox.deps.delivery.gateway, OutboxGateway)
    http = build(
        Settings(gateway="http", gateway_url="https://sms.example/v1", key_prefix="b:"),
        client=client,
    )
    assert isinstance(http.deps.delivery.gateway, HttpGateway)
    assert http.deps.reminders.offsets_days == (30, 7)

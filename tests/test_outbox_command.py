"""``subcycle outbox``: what the outbox gateway delivered, as the CLI shows it.
The CLI needs a real Redis (the embedded one lives inside one process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest

from events import JST
from subcycle.bootstrap import App, build
from subcycle.cli import main
from subcycle.settings import Settings
from tests.conftest import REAL_REDIS_URL, Clock, delete_prefixed, real_redis_or_skip
from tests.support import event, purchase, run


@pytest.fixture
def real_app(unique: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    client = real_redis_or_skip()
    prefix, namespace = f"t{unique}:", f"tq{unique}"
    monkeypatch.setenv("SUBCYCLE_REDIS_URL", REAL_REDIS_URL)
    monkeypatch.setenv("SUBCYCLE_KEY_PREFIX", prefix)
    monkeypatch.setenv("SUBCYCLE_QUEUE_NAMESPACE", namespace)
    settings = Settings(redis_url=REAL_REDIS_URL, key_prefix=prefix, queue_namespace=namespace)
    yield build(settings, client=client, clock=Clock(datetime(2026, 7, 1, 10, 1, tzinfo=JST)))
    delete_prefixed(client, prefix, f"{namespace}:")


def test_outbox_lists_the_reminders_for_a_number_given_in_any_form(
    real_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        real_app,
        purchase("A1", plan="annual", starts_on="2025-08-01"),
        purchase("A2", plan="annual", starts_on="2025-08-01", phone="080-2345-6789", locale="en"),
    )
    # The tick after the purchases: a tick handles what is known when it runs
    # (published together, a second worker thread may take it first).
    run(
        real_app,
        event("ExpiryTick", event_id="expiry:2026-07-01", occurred_at="2026-07-01T10:00:00+09:00"),
    )
    capsys.readouterr()

    assert main(["outbox", "--phone", "090-1234-5678", "--json"]) == 0

    [row] = json.loads(capsys.readouterr().out)
    assert list(row) == ["message_id", "to", "channel", "kind", "text", "sent_at"]
    assert row["message_id"] == "reminder:A1:2026-07-31:30"
    assert row["to"] == "+819012345678"
    assert row["kind"] == "renewal_reminder"
    assert row["sent_at"] == "2026-07-01T10:01:00+09:00"
    assert main(["outbox", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_outbox_refuses_a_number_that_is_not_a_mobile_number_as_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["outbox", "--phone", "050-1234-5678"]) == 2
    assert "--phone" in capsys.readouterr().err

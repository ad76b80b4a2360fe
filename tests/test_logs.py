"""Safe logs on a full run: JSON lines, ids on every line of a message, phone
numbers masked (ours and the libraries' lines alike), codes never present."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator

import pytest

from subcycle import logs
from subcycle.bootstrap import App
from tests.support import cancellation, event, purchase, run

RAW_PHONES = re.compile(r"9012345678|1234-?5678|9087654321|8765-?4321")


def _now(app: App) -> str:
    return app.deps.clock().isoformat()


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Production logging (JSON, DEBUG: Dramatiq then logs every message it
    receives, arguments included) into a buffer this test reads."""
    buffer = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", buffer)
        logs.configure("json", "DEBUG")
    yield buffer
    logs.configure("console", "WARNING")


def captured(buffer: io.StringIO) -> list[dict[str, object]]:
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    bad = [line for line in lines if not line.startswith("{")]
    assert not bad, bad[:5]
    return [json.loads(line) for line in lines]


def test_no_phone_number_appears_unmasked_on_any_line_of_a_full_run(
    app: App, sink: io.StringIO
) -> None:
    full_run(app)
    records = captured(sink)
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    assert records, "the run logged nothing"
    assert RAW_PHONES.search(text) is None
    assert "+81 90-****-5678" in text  # Dramatiq's own DEBUG lines carry the phone, masked


def test_every_line_about_a_message_carries_its_event_and_message_ids(
    app: App, sink: io.StringIO
) -> None:
    full_run(app)
    records = captured(sink)
    ours = [r for r in records if r.get("actor") is not None]
    assert ours
    assert all(r.get("message_id") and r.get("event_id") for r in ours)


def test_no_verification_code_appears_in_any_log_line(app: App, sink: io.StringIO) -> None:
    full_run(app)
    records = captured(sink)
    text = "\n".join(json.dumps(r) for r in records)
    for message in app.deps.delivery.gateway.messages():  # type: ignore[attr-defined]
        for code in re.findall(r"(?<!\d)\d{6}(?!\d)", str(message.get("text", ""))):
            assert code not in text


def full_run(app: App) -> None:
    run(
        app,
        purchase("S1", phone="+819012345678"),
        purchase("S2", phone="090-8765-4321", plan="annual"),
        cancellation("S1", "2026-06-15T20:30:00+09:00"),
        cancellation("S2", "2026-06-15T20:30:00+09:00"),  # refused: not_monthly
        event("OtpRequested", phone="090-1234-5678", channel="sms", occurred_at=_now(app)),
    )

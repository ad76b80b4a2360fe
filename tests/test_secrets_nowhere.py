"""Secrets never appear anywhere (SPEC section 11): a verification code whose
delivery fails, through a provider that quotes the SMS and the bearer token
back in its answers, leaves neither in Redis (records, refusals, dead
letters, Dramatiq's stored tracebacks), in the logs (JSON and console) or in
any command's output."""

from __future__ import annotations

import io
import json
import re
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from subcycle import logs
from subcycle.bootstrap import build
from subcycle.cli import main
from subcycle.settings import Settings
from tests.conftest import Clock
from tests.otp_support import SECRET, customer, otp
from tests.support import PHONE, event, everything_stored, run
from workers.otp import derive_code

TOKEN = "tok-live-7f3a9c2e5b1d4f60"


class EchoingProvider:
    """Answers 503 and then 400, each time quoting the request back: its SMS
    text (the code) and its Authorization header (the token)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.statuses = [503, 400]
        self.url = ""


@pytest.fixture
def provider() -> Iterator[EchoingProvider]:
    state = EchoingProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.seen.append(body["text"] + " " + self.headers["Authorization"])
            status = state.statuses.pop(0) if state.statuses else 400
            quoted = {
                "error": "rejected",
                "message": f"could not deliver {body['text']!r}",
                "auth": self.headers["Authorization"],
            }
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(quoted, ensure_ascii=False).encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def leaks(text: str, code: str) -> list[str]:
    found = []
    if re.search(rf"(?<![0-9]){code}(?![0-9])", text):
        found.append("the code")
    if TOKEN in text:
        found.append("the token")
    return found


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_a_failing_code_delivery_leaves_neither_code_nor_token_anywhere(
    fmt: str,
    provider: EchoingProvider,
    settings: Settings,
    clock: Clock,
    cli_env: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = build(
        settings.model_copy(
            update={
                "otp_secret": SecretStr(SECRET),
                "gateway": "http",
                "gateway_url": provider.url,
                "gateway_token": SecretStr(TOKEN),
            }
        ),
        client=cli_env,
        clock=clock,
    )
    customer(app)
    buffer = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", buffer)
        logs.configure(fmt, "DEBUG")
        report = run(
            app,
            event("OtpRequested", phone=PHONE, channel="sms", occurred_at=clock.now.isoformat()),
        )
    logs.configure("console", "WARNING")

    code_id = otp(app).codes.state(PHONE).code_id
    assert code_id is not None
    code = derive_code(SECRET.encode(), PHONE, code_id)
    # The provider really was sent both, and quoted both back, twice.
    assert len(provider.seen) == 2
    assert all(code in seen and TOKEN in seen for seen in provider.seen)
    assert report.counts["dead_lettered"] == 1
    [refused] = app.store.refusals.list("otp")
    assert (refused.reason, refused.detail) == ("provider_refused", "HTTP 400 (rejected)")

    stored = everything_stored(cli_env, settings.key_prefix, settings.queue_namespace)
    assert "provider answered HTTP 503 (rejected)" in stored  # Dramatiq kept the traceback
    assert leaks(stored, code) == []
    assert leaks(buffer.getvalue(), code) == []
    assert "provider_refused" in buffer.getvalue()

    capsys.readouterr()
    for argv in (
        ["dead-letters", "list", "--json"],
        ["dead-letters", "list"],
        ["queues", "--json"],
        ["otp", "status", "--phone", PHONE, "--history"],
    ):
        main(argv)
    printed = capsys.readouterr()
    assert "provider_refused" in printed.out
    assert leaks(printed.out + printed.err, code) == []

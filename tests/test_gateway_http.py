"""The ``http`` gateway against a provider played by a local HTTP server:
what it posts, what each answer means, and one delivery per message."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from events import JST, SubscriptionExpiringSoon
from subcycle.bootstrap import App
from tests.support import purchase, run
from workers.gateway.base import OutgoingMessage, PermanentFailure, TemporaryFailure
from workers.gateway.http import HttpGateway, HttpGatewayConfig
from workers.gateway.outbox import OutboxGateway

SENT_AT = datetime(2026, 7, 1, 12, 0, tzinfo=JST)
MESSAGE = OutgoingMessage(
    message_id="reminder:A1:2026-07-31:30",
    to="+819012345678",
    channel="sms",
    kind="renewal_reminder",
    text="ご契約は2026年7月31日で満了します。",
)


class Provider:
    """Records every request; answers from a script of (status, body), then 200."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, str]] = []
        self.delay_s = 0.0
        self.url = ""
        self.location: str | None = None

    def answer(self) -> tuple[int, str]:
        return self.answers.pop(0) if self.answers else (200, '{"status":"accepted"}')


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
            )
            time.sleep(state.delay_s)
            status, text = state.answer()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if state.location:
                    self.send_header("Location", state.location)
                self.end_headers()
                self.wfile.write(text.encode())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the gateway timed out and hung up, as the timeout test wants

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def gateway(provider: Provider, timeout_s: float = 2.0) -> HttpGateway:
    config = HttpGatewayConfig(provider.url, "s3cret", timeout_s, allow_plain_http=True)
    return HttpGateway(config)


def test_the_message_is_posted_as_json_with_its_id_as_the_idempotency_key(
    provider: Provider,
) -> None:
    gateway(provider).send(MESSAGE, SENT_AT)
    [request] = provider.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Idempotency-Key"] == MESSAGE.message_id
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["body"] == {
        "message_id": MESSAGE.message_id,
        "to": "+819012345678",
        "channel": "sms",
        "kind": "renewal_reminder",
        "locale": "ja",
        "text": MESSAGE.text,
        "sent_at": "2026-07-01T12:00:00+09:00",
    }


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_or_too_many_requests_is_a_temporary_failure(
    provider: Provider, status: int
) -> None:
    provider.answers = [(status, '{"error":"busy"}')]
    with pytest.raises(TemporaryFailure, match=str(status)):
        gateway(provider).send(MESSAGE, SENT_AT)


def test_a_timeout_is_a_temporary_failure(provider: Provider) -> None:
    provider.delay_s = 0.5
    with pytest.raises(TemporaryFailure):
        gateway(provider, timeout_s=0.1).send(MESSAGE, SENT_AT)


def test_an_unreachable_provider_is_a_temporary_failure() -> None:
    config = HttpGatewayConfig(
        "http://127.0.0.1:9/v1/messages", timeout_s=0.5, allow_plain_http=True
    )
    with pytest.raises(TemporaryFailure):
        HttpGateway(config).send(MESSAGE, SENT_AT)


def test_a_client_error_is_a_permanent_failure_with_the_providers_error_code(
    provider: Provider,
) -> None:
    provider.answers = [(400, '{"code":"invalid_destination","message":"no such number"}')]
    with pytest.raises(PermanentFailure) as refused:
        gateway(provider).send(MESSAGE, SENT_AT)
    assert refused.value.reason == "HTTP 400 (invalid_destination)"


def test_the_providers_text_is_never_kept(provider: Provider) -> None:
    provider.answers = [(400, '{"message":"could not send: ご契約は2026年7月31日で満了します。"}')]
    with pytest.raises(PermanentFailure) as refused:
        gateway(provider).send(MESSAGE, SENT_AT)
    assert refused.value.reason == "HTTP 400"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_failed_delivery_and_is_not_followed(
    provider: Provider, status: int
) -> None:
    provider.answers = [(status, "{}")]
    provider.location = "http://127.0.0.1:9/elsewhere"
    with pytest.raises(PermanentFailure, match="redirect not followed"):
        gateway(provider).send(MESSAGE, SENT_AT)
    assert len(provider.requests) == 1


def test_a_plain_http_provider_is_refused_unless_development_allows_it() -> None:
    with pytest.raises(ValueError, match="https://"):
        HttpGateway(HttpGatewayConfig("http://sms.example/v1"))


# Through real workers, on both backends.


def reminder() -> SubscriptionExpiringSoon:
    return SubscriptionExpiringSoon(
        event_id="reminder:A1:2026-07-31:30",
        occurred_at=datetime(2026, 7, 1, 10, 0, tzinfo=JST),
        subscription_id="A1",
        expires_on=date(2026, 7, 31),
        days_left=30,
    )


@pytest.fixture
def http_app(make_app: Callable[..., App], provider: Provider) -> App:
    app = make_app(gateway="http", gateway_url=provider.url)
    run(app, purchase("A1", plan="annual", starts_on="2025-08-01"))
    return app


def test_a_500_then_a_200_delivers_the_reminder_once(http_app: App, provider: Provider) -> None:
    provider.answers = [(500, '{"error":"try later"}')]
    report = run(http_app, reminder())
    assert report.counts["retried"] == 1
    assert [r["headers"]["Idempotency-Key"] for r in provider.requests] == [
        "reminder:A1:2026-07-31:30",
        "reminder:A1:2026-07-31:30",
    ]
    assert http_app.deps.delivery.already_sent("reminder:A1:2026-07-31:30")
    assert OutboxGateway(http_app.client, http_app.store.keys).messages() == []


def test_a_400_dead_letters_the_reminder_with_the_providers_reason(
    http_app: App, provider: Provider
) -> None:
    provider.answers = [(400, '{"code":"opted_out"}')]
    report = run(http_app, reminder())
    assert report.counts["dead_lettered"] == 1
    assert len(provider.requests) == 1
    [refused] = http_app.store.refusals.list()
    assert refused.reason == "provider_refused"
    assert "HTTP 400 (opted_out)" in refused.detail
    assert not http_app.deps.delivery.already_sent("reminder:A1:2026-07-31:30")


def test_a_redelivered_message_makes_no_second_request(http_app: App, provider: Provider) -> None:
    run(http_app, reminder())
    # The same message again, as after a worker died before its ack.
    http_app.actors["SubscriptionExpiringSoon"].send(reminder().wire())
    report = run(http_app)
    assert report.counts["processed"] == 1
    assert len(provider.requests) == 1

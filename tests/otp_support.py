"""Drivers for the verification-code tests: requests straight into the
handlers (time passed in by the test's clock), codes read back the way the
login page's customer would (from the outbox), never from the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from store.otp import Decision
from subcycle.bootstrap import App
from tests.conftest import Clock
from tests.support import PHONE, event, purchase
from workers.handlers import lifecycle
from workers.handlers import otp as otp_handlers
from workers.otp import Otp

SECRET = "test-secret-0123456789abcdef-0123456789"
MINUTE = timedelta(minutes=1)


def with_secret(make_app: Callable[..., App], **overrides: Any) -> App:
    """The app of these tests: a server secret, and whatever else the test sets."""
    return make_app(otp_secret=SecretStr(SECRET), **overrides)


def customer(app: App, phone: str = PHONE, sub: str = "S1", **extra: Any) -> None:
    lifecycle.record_purchase(purchase(sub, phone=phone, **extra), app.deps)


def ask(
    app: App,
    clock: Clock,
    phone: str = PHONE,
    *,
    channel: str = "sms",
    resend: bool = False,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> Decision:
    fields: dict[str, Any] = {"phone": phone, "channel": channel, "resend": resend}
    fields["occurred_at"] = (occurred_at or clock.now).isoformat()
    if event_id:
        fields["event_id"] = event_id
    return otp_handlers.request_code(event("OtpRequested", **fields), app.deps)  # type: ignore[arg-type]


def register(
    app: App,
    clock: Clock,
    phone: str = PHONE,
    confirmation: str | None = None,
    channel: str = "sms",
) -> Decision:
    raw = event(
        "MobileNumberRegistrationSubmitted",
        phone=phone,
        phone_confirmation=confirmation or phone,
        channel=channel,
        occurred_at=clock.now.isoformat(),
    )
    return otp_handlers.register_number(raw, app.deps)  # type: ignore[arg-type]


def otp(app: App) -> Otp:
    return app.deps.codes


def outbox(app: App, phone: str = PHONE) -> list[dict[str, Any]]:
    gateway: Any = app.deps.delivery.gateway
    return list(gateway.messages(phone))


def code_in(message: dict[str, Any]) -> str:
    """The code as the customer reads it: six digits, spoken one by one or not."""
    digits = "".join(ch for ch in message["text"] if ch.isdigit())
    return digits[:6]


def last_code(app: App, phone: str = PHONE) -> str:
    return code_in(outbox(app, phone)[-1])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"

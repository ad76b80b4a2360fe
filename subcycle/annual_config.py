"""Settings of the annual contract (reminders) and the message gateway, and
how the composition root turns them into a policy and a gateway adapter.

The value types are checked when the settings are read, so a bad
``SUBCYCLE_*`` value is refused naming its variable before anything starts.
"""

from __future__ import annotations

import re
from datetime import time
from typing import TYPE_CHECKING, Annotated, Any

import redis
from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo
from pydantic_settings import NoDecode

from store.keys import Keys
from workers.gateway.base import Gateway
from workers.gateway.http import HttpGateway, HttpGatewayConfig
from workers.gateway.outbox import OutboxGateway
from workers.messages.reminders import renewal_url_problem
from workers.policies import DEFAULT_RENEWAL_URL, ReminderPolicy

if TYPE_CHECKING:
    from subcycle.settings import Settings

_WINDOW = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


def _offsets(value: Any) -> tuple[int, ...]:
    """``"30,7"`` (the environment) or a list of whole days before ``expires_on``."""
    items = value.split(",") if isinstance(value, str) else value
    try:
        days = tuple(sorted({int(str(item).strip()) for item in items}, reverse=True))
    except (TypeError, ValueError):
        raise ValueError("must be whole days, e.g. 30,7") from None
    if not days or any(d < 0 or d > 366 for d in days):
        raise ValueError("must be one or more whole days between 0 and 366, e.g. 30,7")
    return days


def _window(value: str) -> str:
    match = _WINDOW.match(value)
    if match is None or value[:5] >= value[6:] or value[6:] > "24:00":
        raise ValueError("must be HH:MM-HH:MM in JST with the start first, e.g. 09:00-21:00")
    return value


def _renewal_url(value: str) -> str:
    problem = renewal_url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _gateway_url(value: str | None, info: ValidationInfo) -> str | None:
    if info.data.get("gateway") == "http":
        if not value:
            raise ValueError("required when SUBCYCLE_GATEWAY=http")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
    return value


ReminderOffsets = Annotated[tuple[int, ...], NoDecode, BeforeValidator(_offsets)]
DaytimeWindow = Annotated[str, AfterValidator(_window)]
RenewalUrl = Annotated[str, AfterValidator(_renewal_url)]
GatewayUrl = Annotated[str | None, AfterValidator(_gateway_url), Field(validate_default=True)]
DEFAULT_WINDOW = "09:00-21:00"
DEFAULT_URL = DEFAULT_RENEWAL_URL


def _clock_time(text: str) -> time:
    hours, minutes = int(text[:2]), int(text[3:])
    return time(23, 59, 59, 999_999) if hours == 24 else time(hours, minutes)


def reminder_policy(settings: Settings) -> ReminderPolicy:
    window = settings.reminder_daytime
    return ReminderPolicy(
        offsets_days=settings.reminder_offsets_days,
        renewal_url=settings.renewal_url,
        daytime_start=_clock_time(window[:5]),
        daytime_end=_clock_time(window[6:]),
    )


def build_gateway(settings: Settings, client: redis.Redis, keys: Keys) -> Gateway:
    if settings.gateway == "http":
        assert settings.gateway_url is not None  # checked with the settings
        token = settings.gateway_token.get_secret_value() if settings.gateway_token else None
        return HttpGateway(
            HttpGatewayConfig(
                settings.gateway_url,
                token,
                settings.gateway_timeout_s,
                allow_plain_http=settings.env == "development",
            )
        )
    return OutboxGateway(client, keys)

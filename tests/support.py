"""Builders and drivers shared by the tests."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import redis

from events import Event, parse_event
from subcycle.bootstrap import App
from workers.drain import DrainReport, drain

_ids = itertools.count(1)
PHONE = "+819012345678"


def event(type_: str, **fields: Any) -> Event:
    raw = {"type": type_, "event_id": fields.pop("event_id", f"e{next(_ids)}"), **fields}
    return parse_event(raw)


def purchase(
    sub: str = "S1",
    *,
    plan: str = "monthly",
    starts_on: str = "2026-04-01",
    at: str | None = None,
    **extra: Any,
) -> Event:
    fields: dict[str, Any] = {
        "subscription_id": sub,
        "phone": extra.pop("phone", PHONE),
        "product": "Mobile Security",
        "plan": plan,
        "starts_on": starts_on,
        "monthly_fee_jpy": extra.pop("fee", 550),
        "occurred_at": at or f"{starts_on}T10:00:00+09:00",
        **extra,
    }
    if plan == "annual":
        fields.setdefault("term_years", 1)
    return event("SubscriptionPurchased", **fields)


def cancellation(sub: str, at: str, kind: str = "monthly_service", **extra: Any) -> Event:
    return event("CancellationRequested", subscription_id=sub, kind=kind, occurred_at=at, **extra)


def consent(sub: str, at: str, **extra: Any) -> Event:
    return event("RenewalConsentGiven", subscription_id=sub, occurred_at=at, **extra)


def open_on(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command opens the test's app (its backend, prefix and namespace)
    instead of connecting to the URL it was given."""
    monkeypatch.setattr("subcycle.commands.common.connect", lambda url: app.client)
    monkeypatch.setenv("SUBCYCLE_KEY_PREFIX", app.settings.key_prefix)
    monkeypatch.setenv("SUBCYCLE_QUEUE_NAMESPACE", app.settings.queue_namespace)


def run(app: App, *events: Event, threads: int = 2) -> DrainReport:
    """Publish, then let real Dramatiq workers settle every queue."""
    if events:
        app.publisher.publish_derived(events)
    return drain(app.broker, threads=threads, horizon_s=10.0, poll_s=0.01, timeout_s=60)


def everything_stored(client: redis.Redis, *prefixes: str, skip: str = "") -> str:
    """Every key and value under ``prefixes`` as one text (keys ending in
    ``skip`` left out), to search for what must never be stored."""
    parts: list[str] = []
    for prefix in prefixes:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            if skip and key.decode().endswith(skip):
                continue
            kind = client.type(key).decode()  # type: ignore[union-attr]
            value: Any = {
                "string": client.get,
                "hash": client.hgetall,
                "list": lambda k: client.lrange(k, 0, -1),
                "set": client.smembers,
                "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            }[kind](key)
            parts.append(f"{key!r} {value!r}")
    return "\n".join(parts)

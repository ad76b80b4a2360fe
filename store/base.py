"""The store's port: what handlers may ask of it, whatever holds the data."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from store.records import Fact, Purchase, Subscription
from store.refusals import RefusedEvent
from store.subscriptions import Applied


class Subscriptions(Protocol):
    def purchase(self, purchase: Purchase, fingerprint: str) -> Applied: ...
    def apply(self, subscription_id: str, fact: Fact, fingerprint: str) -> Applied: ...
    def get(self, subscription_id: str, at: datetime | None = None) -> Subscription | None: ...


class EventLog(Protocol):
    def status(self, event_id: str) -> tuple[str, str] | None: ...
    def mark_done(self, event_id: str, fingerprint: str) -> bool: ...
    def forget(self, event_id: str, fingerprint: str) -> None: ...


class Refusals(Protocol):
    def record(self, refused: RefusedEvent) -> None: ...
    def list(self, queue: str | None = None) -> list[RefusedEvent]: ...
    def get(self, refusal_id: str) -> RefusedEvent | None: ...
    def remove(self, refusal_id: str) -> bool: ...


class Store(Protocol):
    subscriptions: Subscriptions
    events: EventLog
    refusals: Refusals

"""The store's port: what handlers may ask of it, whatever holds the data.

Handlers are typed against ``Store`` (workers/deps.py); ``store/redis.py``
is the adapter (on a real Redis, or on fakeredis for the demo and the
tests), and tests/fakes.py a hand-written one in memory for the handler
tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Protocol

from store.billing import CloseStatus, ShardResult
from store.expiry import Advance, PendingReminder
from store.ledger import Charge
from store.otp import Decision, HistoryLine, RequestKind, Status
from store.otp_rules import CodeState, OtpRules, Verdict
from store.records import Fact, Purchase, Subscription
from store.refusals import RefusedEvent
from store.subscriptions import Applied, ExtraWrites, History, Outcome


class Subscriptions(Protocol):
    def purchase(self, purchase: Purchase, fingerprint: str) -> Applied: ...

    def apply(
        self,
        subscription_id: str,
        fact: Fact,
        fingerprint: str,
        extra: ExtraWrites | None = None,
    ) -> Applied: ...

    def get(self, subscription_id: str, at: datetime | None = None) -> Subscription | None: ...

    def load_histories(self, histories: Sequence[History]) -> list[list[Outcome] | None]: ...


class EventLog(Protocol):
    def status(self, event_id: str) -> tuple[str, str] | None: ...

    def claims(self, event_ids: list[str]) -> list[str | None]: ...

    def mark_done(self, event_id: str, fingerprint: str) -> bool: ...

    def forget(self, event_id: str, fingerprint: str) -> None: ...


class Refusals(Protocol):
    def record(self, refused: RefusedEvent) -> None: ...

    def list(self, queue: str | None = None) -> list[RefusedEvent]: ...

    def get(self, refusal_id: str) -> RefusedEvent | None: ...

    def remove(self, refusal_id: str) -> bool: ...

    def purge_older_than(self, cutoff: datetime) -> int: ...


class Billing(Protocol):
    def register_close(self, period: str, run: str, started_at: datetime) -> bool: ...

    def mark_sent(self, period: str, run: str) -> None: ...

    def close_shard(self, period: str, shard: int, run: str) -> ShardResult: ...

    def status(self, period: str) -> CloseStatus | None: ...

    def started_periods(self) -> list[str]: ...

    def last_closed_period(self) -> str | None: ...


class Ledger(Protocol):
    def charges(self, period: str) -> Iterator[Charge]: ...

    def count(self, period: str) -> int: ...

    def totals(self, period: str) -> tuple[int, int]: ...


class Expiry(Protocol):
    def term_ends_due(self, through: date, limit: int) -> list[tuple[str, date]]: ...

    def term_ends_enqueued(self, subscription_ids: list[str]) -> None: ...

    def reminders_due(self, today: date, horizon: date, limit: int) -> list[PendingReminder]: ...

    def advance(self, moves: list[Advance]) -> None: ...


class Codes(Protocol):
    """Verification-code state per number (store/otp.py)."""

    def request(
        self,
        phone: str,
        *,
        event_id: str,
        fingerprint: str,
        kind: RequestKind,
        channel: str,
        occurred_at: datetime,
        now: datetime,
        rules: OtpRules,
        fresh_code_id: str,
    ) -> Decision: ...

    def state(self, phone: str) -> CodeState: ...

    def verify(
        self, phone: str, now: datetime, matches: Callable[[str], bool], rules: OtpRules
    ) -> Verdict: ...

    def status(self, phone: str, now: datetime, rules: OtpRules) -> Status: ...

    def history(self, phone: str) -> list[HistoryLine]: ...


class Store(Protocol):
    @property
    def subscriptions(self) -> Subscriptions: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def refusals(self) -> Refusals: ...

    @property
    def billing(self) -> Billing: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def expiry(self) -> Expiry: ...

    @property
    def codes(self) -> Codes: ...

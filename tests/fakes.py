"""Hand-written fakes of the handlers' ports (store/base.py, workers/deps.py),
in memory, for the handler tests (tests/test_handlers.py). The fold is the
real one (store/lifecycle.py): only the storage is faked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from events import Event
from store.billing import CloseStatus, ShardResult
from store.errors import EventIdReused, SubscriptionExists, UnknownSubscription
from store.expiry import Advance, PendingReminder
from store.ledger import Charge
from store.lifecycle import project
from store.otp import Decision, HistoryLine, Status
from store.otp_rules import CodeState, OtpRules, Verdict
from store.records import Fact, Purchase, Subscription
from store.refusals import RefusedEvent
from store.subscriptions import Applied, ExtraWrites, History, Outcome
from workers.deps import Deps
from workers.gateway.base import OutgoingMessage
from workers.otp import Otp, OtpPolicy


class FakeSubscriptions:
    def __init__(self) -> None:
        self.purchases: dict[str, tuple[Purchase, str]] = {}
        self.facts: dict[str, dict[str, tuple[Fact, str]]] = {}
        self.extra_asked: list[ExtraWrites | None] = []

    def load_histories(self, histories: Sequence[History]) -> list[list[Outcome] | None]:
        return [None] * len(histories)  # every history event by event

    def purchase(self, purchase: Purchase, fingerprint: str) -> Applied:
        found = self.purchases.get(purchase.subscription_id)
        if found is not None:
            if found[0].event_id != purchase.event_id:
                raise SubscriptionExists(purchase.subscription_id)
            record = self._fold(purchase.subscription_id, None)
            return Applied(record, record.history[0], duplicate=True)
        self.purchases[purchase.subscription_id] = (purchase, fingerprint)
        self.facts[purchase.subscription_id] = {}
        record = self._fold(purchase.subscription_id, None)
        return Applied(record, record.history[0])

    def apply(
        self,
        subscription_id: str,
        fact: Fact,
        fingerprint: str,
        extra: ExtraWrites | None = None,
    ) -> Applied:
        self.extra_asked.append(extra)
        if subscription_id not in self.purchases:
            raise UnknownSubscription(subscription_id)
        known = self.facts[subscription_id]
        seen = known.get(fact.event_id)
        if seen is not None:
            if seen[1] != fingerprint:
                raise EventIdReused(fact.event_id)
            record = self._fold(subscription_id, None)
            return Applied(record, record.outcome_of(fact.event_id), duplicate=True)
        known[fact.event_id] = (fact, fingerprint)
        record = self._fold(subscription_id, None)
        entry = record.outcome_of(fact.event_id)
        refused = entry is not None and entry.reason is not None
        return Applied(record, entry, extra_written=extra is not None and not refused)

    def get(self, subscription_id: str, at: datetime | None = None) -> Subscription | None:
        if subscription_id not in self.purchases:
            return None
        return self._fold(subscription_id, at)

    def _fold(self, subscription_id: str, at: datetime | None) -> Subscription:
        purchase, _ = self.purchases[subscription_id]
        facts = [f for f, _ in self.facts[subscription_id].values() if at is None or f.at <= at]
        as_of = at or max([purchase.occurred_at, *(f.at for f in facts)])
        return project(purchase, facts, as_of)


class FakeEvents:
    def __init__(self) -> None:
        self.records: dict[str, tuple[str, str]] = {}

    def status(self, event_id: str) -> tuple[str, str] | None:
        return self.records.get(event_id)

    def claims(self, event_ids: list[str]) -> list[str | None]:
        return [self.records[e][0] if e in self.records else None for e in event_ids]

    def mark_done(self, event_id: str, fingerprint: str) -> bool:
        before = self.records.get(event_id)
        self.records[event_id] = (fingerprint, "done")
        return before is None or before[1] != "done"

    def forget(self, event_id: str, fingerprint: str) -> None:
        if self.records.get(event_id, ("", ""))[0] == fingerprint:
            del self.records[event_id]


class FakeRefusals:
    def __init__(self) -> None:
        self.recorded: dict[str, RefusedEvent] = {}

    def record(self, refused: RefusedEvent) -> None:
        self.recorded[refused.refusal_id] = refused

    def list(self, queue: str | None = None) -> list[RefusedEvent]:
        return [r for r in self.recorded.values() if queue is None or r.queue == queue]

    def get(self, refusal_id: str) -> RefusedEvent | None:
        return self.recorded.get(refusal_id)

    def remove(self, refusal_id: str) -> bool:
        return self.recorded.pop(refusal_id, None) is not None

    def purge_older_than(self, cutoff: datetime) -> int:
        old = [k for k, r in self.recorded.items() if r.refused_at < cutoff]
        for key in old:
            del self.recorded[key]
        return len(old)


class FakeBilling:
    def __init__(self) -> None:
        self.registered: dict[str, str] = {}
        self.sent: set[tuple[str, str]] = set()

    def register_close(self, period: str, run: str, started_at: datetime) -> bool:
        self.registered[period] = run
        return (period, run) in self.sent

    def mark_sent(self, period: str, run: str) -> None:
        self.sent.add((period, run))

    def close_shard(self, period: str, shard: int, run: str) -> ShardResult:
        return ShardResult(0, 0, 1, 1, True)

    def status(self, period: str) -> CloseStatus | None:
        return None

    def started_periods(self) -> list[str]:
        return sorted(self.registered)

    def last_closed_period(self) -> str | None:
        return None


class FakeLedger:
    def charges(self, period: str) -> Iterator[Charge]:
        return iter(())

    def count(self, period: str) -> int:
        return 0


class FakeExpiry:
    """Term ends and reminders due, set by the test; what the tick moved on."""

    def __init__(self) -> None:
        self.term_ends: list[tuple[str, date]] = []
        self.reminders: list[PendingReminder] = []
        self.enqueued: list[str] = []
        self.moves: list[Advance] = []

    def term_ends_due(self, through: date, limit: int) -> list[tuple[str, date]]:
        return [(s, d) for s, d in self.term_ends if d <= through][:limit]

    def term_ends_enqueued(self, subscription_ids: list[str]) -> None:
        self.enqueued += subscription_ids
        self.term_ends = [(s, d) for s, d in self.term_ends if s not in subscription_ids]

    def reminders_due(self, today: date, horizon: date, limit: int) -> list[PendingReminder]:
        due, self.reminders = self.reminders[:limit], self.reminders[limit:]
        return due

    def advance(self, moves: list[Advance]) -> None:
        self.moves += moves


class FakeCodes:
    """Answers every request with the decision the test scripted."""

    def __init__(self) -> None:
        self.decision = Decision("sent", "code-id-1", None, duplicate=False, locale="ja")
        self.requests: list[dict[str, Any]] = []

    def request(self, phone: str, **request: Any) -> Decision:
        self.requests.append({"phone": phone, **request})
        created = request["now"]
        return Decision(
            self.decision.outcome,
            self.decision.code_id,
            created,
            self.decision.duplicate,
            self.decision.locale,
        )

    def state(self, phone: str) -> CodeState:
        return CodeState()

    def verify(self, phone: str, now: datetime, matches: Any, rules: OtpRules) -> Verdict:
        return "no_active_code"

    def status(self, phone: str, now: datetime, rules: OtpRules) -> Status:
        return "none"

    def history(self, phone: str) -> list[HistoryLine]:
        return []


@dataclass
class FakeStore:
    subscriptions: FakeSubscriptions = field(default_factory=FakeSubscriptions)
    events: FakeEvents = field(default_factory=FakeEvents)
    refusals: FakeRefusals = field(default_factory=FakeRefusals)
    billing: FakeBilling = field(default_factory=FakeBilling)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    expiry: FakeExpiry = field(default_factory=FakeExpiry)
    codes: FakeCodes = field(default_factory=FakeCodes)


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[Event] = []

    def publish_derived(self, events: Iterable[Event]) -> Any:
        batch = list(events)
        self.published += batch
        return _Published(len(batch))


@dataclass
class _Published:
    enqueued: int
    duplicates: int = 0
    reused: list[str] = field(default_factory=list)


class FakeDelivery:
    def __init__(self) -> None:
        self.delivered: list[OutgoingMessage] = []
        self.fail_with: Exception | None = None

    def deliver(self, message: OutgoingMessage, sent_at: datetime, keep_for: timedelta) -> bool:
        if self.fail_with is not None:
            raise self.fail_with
        if any(m.message_id == message.message_id for m in self.delivered):
            return False
        self.delivered.append(message)
        return True


SECRET = b"fake-secret-0123456789abcdef-0123456789"


def fake_deps(now: datetime, **overrides: Any) -> Deps:
    store = FakeStore()
    fields: dict[str, Any] = {
        "store": store,
        "publisher": FakePublisher(),
        "clock": lambda: now,
        "delivery": FakeDelivery(),
        "codes": Otp(store.codes, OtpPolicy(SECRET)),
        **overrides,
    }
    return Deps(**fields)

"""A mixed run of the whole story, and every effect of it counted against
what its events imply: for the fault benches and tests (a vanished worker
host, a Sentinel failover), where "nothing lost, nothing doubled" is the claim.

Three phases, each published once the one before has settled (a
cancellation that raced far ahead of its purchase would be retried a few
seconds, then dead-lettered: that is a different story):

1. purchases: ``monthly`` monthly subscriptions (from April or May 2026) and
   ``annual`` annual ones whose term ends 20 days from today;
2. half the monthly subscriptions cancelled in June, a third of the annual
   ones given renewal consent, and ``otp`` verification-code requests (SMS
   and voice) from the phones of monthly subscriptions, dated now;
3. the months 2026-04 … 2026-07 closed, and an expiry tick today at noon
   JST: the 30-day reminder is due for every annual without consent.

Processes that run it need ``ENV`` (no daytime window for reminders, no
overall OTP limit) so the expected counts hold at any hour.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from events import JST, Event, parse_event
from events.reasons import Reason
from store.errors import PeriodNotClosed
from store.refusals import RefusedEvent
from store.text import text
from subcycle.bootstrap import App
from subcycle.status import queue_depths
from workers.gateway.outbox import OutboxGateway
from workers.transport.keys import QueueKeys

PERIODS = ("2026-04", "2026-05", "2026-06", "2026-07")
ENV = {
    "SUBCYCLE_REMINDER_DAYTIME": "00:00-24:00",
    "SUBCYCLE_OTP_OVERALL_LIMIT": "1000000",
    "SUBCYCLE_OTP_SECRET": "mixed-run-secret-" + "x" * 32,
    "SUBCYCLE_OTP_SECRET_FILE": "",
}


@dataclass(frozen=True)
class Mix:
    monthly: int
    annual: int
    otp: int
    today: date = field(default_factory=lambda: datetime.now(JST).date())

    @classmethod
    def of_about(cls, total: int) -> Mix:
        """Sizes whose events add up to about ``total`` (a monthly purchase is
        ~1.5 events with its cancellation, an annual ~1.33 with consents)."""
        unit = max(1, total // 28)
        return cls(monthly=12 * unit, annual=6 * unit, otp=2 * unit)

    @property
    def expires_on(self) -> date:
        return self.today + timedelta(days=20)

    def purchases(self) -> list[Event]:
        starts = self.expires_on + timedelta(days=1) - timedelta(days=365)
        out = []
        for i in range(max(self.monthly, self.annual)):
            if i < self.monthly:
                start = "2026-04-01" if i % 2 == 0 else "2026-05-10"
                out.append(_purchase(f"M{i}", f"+8190{10_000_000 + i}", "monthly", start))
            if i < self.annual:
                out.append(_purchase(f"A{i}", f"+8180{10_000_000 + i}", "annual", str(starts)))
        return out

    def subscription_ids(self) -> list[str]:
        return [f"M{i}" for i in range(self.monthly)] + [f"A{i}" for i in range(self.annual)]

    def followups(self) -> list[Event]:
        out = [
            parse_event(
                {
                    "type": "CancellationRequested",
                    "event_id": f"cancel-m{i}",
                    "occurred_at": "2026-06-15T12:00:00+09:00",
                    "subscription_id": f"M{i}",
                    "kind": "monthly_service",
                }
            )
            for i in range(0, self.monthly, 2)
        ]
        out += [
            parse_event(
                {
                    "type": "RenewalConsentGiven",
                    "event_id": f"consent-a{i}",
                    "occurred_at": f"{self.today - timedelta(days=1)}T10:00:00+09:00",
                    "subscription_id": f"A{i}",
                }
            )
            for i in range(0, self.annual, 3)
        ]
        now = datetime.now(JST).isoformat(timespec="seconds")
        out += [
            parse_event(
                {
                    "type": "OtpRequested",
                    "event_id": f"otp-{i}",
                    "occurred_at": now,
                    "phone": f"+8190{10_000_000 + i}",
                    "channel": "sms" if i % 2 == 0 else "voice",
                }
            )
            for i in range(min(self.otp, self.monthly))
        ]
        return out

    def closes(self) -> list[Event]:
        out = [
            parse_event(
                {
                    "type": "BillingCycleClosed",
                    "event_id": f"close-{p}",
                    "occurred_at": "2026-08-01T00:30:00+09:00",
                    "period": p,
                }
            )
            for p in PERIODS
        ]
        tick = {"type": "ExpiryTick", "event_id": f"tick-{self.today}"}
        out.append(parse_event({**tick, "occurred_at": f"{self.today}T12:00:00+09:00"}))
        return out

    def expected_charges(self) -> dict[str, int]:
        per = dict.fromkeys(PERIODS, 0)
        for i in range(self.monthly):
            first, last = (4, 6) if i % 2 == 0 else (5, 7)  # the even ones cancelled in June
            for month in range(first, last + 1):
                per[f"2026-{month:02d}"] += 1
        return per


def _purchase(sub: str, phone: str, plan: str, starts_on: str) -> Event:
    raw: dict[str, object] = {
        "type": "SubscriptionPurchased",
        "event_id": f"buy-{sub}",
        "occurred_at": f"{starts_on}T10:00:00+09:00",
        "subscription_id": sub,
        "phone": phone,
        "product": "Mobile Security",
        "plan": plan,
        "starts_on": starts_on,
        "monthly_fee_jpy": 550,
    }
    if plan == "annual":
        raw["term_years"] = 1
    return parse_event(raw)


def settled(app: App) -> bool:
    """Nothing ready, delayed or in flight, and no message body left."""
    rows = queue_depths(app.core)
    keys = QueueKeys(app.settings.queue_namespace)
    return all(r.ready == 0 and r.delayed == 0 and r.in_progress == 0 for r in rows) and all(
        app.client.hlen(keys.messages(r.queue)) == 0 for r in rows
    )


def unsettled(app: App) -> str:
    """What keeps ``settled`` false: each queue's counts, and each ack set
    with its worker's last beat (for a run that timed out)."""
    keys = QueueKeys(app.settings.queue_namespace)
    parts = [
        f"{r.queue}: ready {r.ready}, delayed {r.delayed}, in progress {r.in_progress}, "
        f"bodies {app.client.hlen(keys.messages(r.queue))}"
        for r in queue_depths(app.core)
    ]
    now_ms = time.time() * 1000
    for key in sorted(app.client.scan_iter(match=keys.acks_pattern())):
        name = text(key)
        worker = name.split("__acks__.", 1)[1].rsplit(".", 1)[0]
        beat = app.client.zscore(keys.heartbeats, worker)
        age = f"last beat {(now_ms - beat) / 1000:.1f}s ago" if beat else "no heartbeat"
        parts.append(f"{name}: {app.client.scard(key)} held, {age}")
    return "; ".join(parts)


def closed(app: App) -> bool:
    for period in PERIODS:
        try:
            next(iter(app.store.ledger.charges(period)), None)
        except PeriodNotClosed:
            return False
    return True


@dataclass
class Effects:
    """What the run did, and each way it differs from what it should have."""

    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)  # the failures that are a double effect
    lost: list[str] = field(default_factory=list)  # purchased subscriptions with no record
    refused: list[RefusedEvent] = field(default_factory=list)

    def check(self, what: str, got: int, want: int, *, doubling: bool = False) -> None:
        self.lines.append(f"{what}: {got} (expected {want})")
        if got != want:
            self.failures.append(f"{what}: {got} != {want}")
            if doubling:
                self.doubled.append(f"{what}: {got} != {want}")

    def only_lost_purchases(self) -> bool:
        """Every difference is explained by ``lost``: nothing doubled, and
        each refusal is a follow-up of a lost subscription (unknown to it)."""
        lost = set(self.lost)
        return not self.doubled and all(
            r.reason == Reason.UNKNOWN_SUBSCRIPTION
            and (r.payload or {}).get("subscription_id") in lost
            for r in self.refused
        )


def count_effects(app: App, mix: Mix) -> Effects:
    """Charges per subscription and month, cancellations, reminders and
    verification codes in the outbox, refusals: each against ``mix``."""
    effects = Effects()
    for period, want in mix.expected_charges().items():
        per_sub = Counter(c.subscription_id for c in app.store.ledger.charges(period))
        effects.check(f"charges {period}", sum(per_sub.values()), want)
        twice = sum(n > 1 for n in per_sub.values())
        effects.check(f"charges {period} charged twice", twice, 0, doubling=True)
    cancelled = sum(
        1
        for i in range(0, mix.monthly, 2)
        if (sub := app.store.subscriptions.get(f"M{i}")) is not None
        and sub.license_type == "Cancelled"
    )
    effects.check("cancelled monthly subscriptions", cancelled, len(range(0, mix.monthly, 2)))
    sent = OutboxGateway(app.client, app.store.keys).messages()
    kinds = Counter(m.get("kind") for m in sent)
    effects.check(
        "sends with a repeated message id",
        len(sent) - len({m["message_id"] for m in sent}),
        0,
        doubling=True,
    )
    effects.check(
        "renewal reminders sent",
        kinds["renewal_reminder"],
        mix.annual - len(range(0, mix.annual, 3)),
    )
    codes = Counter(m["to"] for m in sent if m.get("kind") == "verification_code")
    effects.check("verification codes sent", sum(codes.values()), min(mix.otp, mix.monthly))
    effects.check("phones sent a code twice", sum(n > 1 for n in codes.values()), 0, doubling=True)
    effects.check("other messages", len(sent) - kinds["renewal_reminder"] - sum(codes.values()), 0)
    effects.lost = [sid for sid in mix.subscription_ids() if _absent(app, sid)]
    effects.check("purchased subscriptions with no record", len(effects.lost), 0)
    refused = effects.refused = app.store.refusals.list()
    effects.check("refused or dead-lettered", len(refused), 0)
    if refused:
        effects.failures.append(f"e.g. {refused[0].reason}: {refused[0].detail}")
    return effects


def _absent(app: App, subscription_id: str) -> bool:
    return app.store.subscriptions.get(subscription_id) is None

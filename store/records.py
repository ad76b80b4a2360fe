"""What is true about a subscription, as the license information page shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from events import SubscriptionPurchased
from events.reasons import Reason

LicenseType = Literal["Annual", "Monthly", "Cancelled", "Expired"]
AUTO_RENEWAL_CANCELLED_NOTICE = "Automatic renewal service has been cancelled"


@dataclass(frozen=True)
class Purchase:
    """The facts of a shop purchase; everything else is derived from facts."""

    subscription_id: str
    event_id: str
    occurred_at: datetime
    phone: str
    product: str
    locale: str
    plan: Literal["annual", "monthly"]
    term_years: int | None
    starts_on: date
    monthly_fee_jpy: int


def purchase_of(event: SubscriptionPurchased) -> Purchase:
    """The purchase an event records: the one place its fields are copied."""
    return Purchase(
        subscription_id=event.subscription_id,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        phone=event.phone,
        product=event.product,
        locale=event.locale,
        plan=event.plan,
        term_years=event.term_years,
        starts_on=event.starts_on,
        monthly_fee_jpy=event.monthly_fee_jpy,
    )


@dataclass(frozen=True)
class Fact:
    """One event about a subscription after its purchase, kept for the fold."""

    event_id: str
    type: str
    at: datetime
    kind: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    event_id: str
    type: str
    at: datetime
    outcome: str
    reason: Reason | None = None  # for outcome "refused"


@dataclass
class Subscription:
    """The subscription as it stands at ``as_of``."""

    subscription_id: str
    phone: str
    product: str
    locale: str
    plan: Literal["annual", "monthly"]
    term_years: int | None
    starts_on: date
    expires_on: date | None
    monthly_fee_jpy: int
    auto_renewal: bool
    as_of: datetime
    renewal_consent_at: datetime | None = None
    auto_renewal_cancelled_at: datetime | None = None
    monthly_started_on: date | None = None
    service_until: date | None = None
    cancelled_at: datetime | None = None
    last_billed_period: str | None = None
    notice: str | None = None
    expired: bool = False
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def license_type(self) -> LicenseType:
        if self.expired:
            return "Expired"
        if self.cancelled_at is not None:
            return "Cancelled"
        return "Monthly" if self.plan == "monthly" else "Annual"

    def outcome_of(self, event_id: str) -> HistoryEntry | None:
        for entry in self.history:
            if entry.event_id == event_id:
                return entry
        return None

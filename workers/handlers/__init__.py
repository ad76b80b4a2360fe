"""The handler table: which plain function reacts to which event type.

A handler takes the event and the Deps and may raise ``store.errors.Refusal``;
the actor turns that into a retry or a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from events import (
    AnnualTermEnded,
    BillingCycleClosed,
    CancellationRequested,
    Event,
    ExpiryTick,
    MobileNumberRegistrationSubmitted,
    OtpRequested,
    Queue,
    RenewalConsentGiven,
    SubscriptionExpiringSoon,
    SubscriptionPurchased,
)
from workers.deps import Deps
from workers.handlers import billing, expiry, lifecycle, otp, reminders

Handler = Callable[[Any, Deps], object]


@dataclass(frozen=True)
class Task:
    """An actor that is not an event's: shards of a month-end close, message sends.

    ``body(deps)`` returns the function Dramatiq calls with the message's args.
    """

    queue: Queue
    body: Callable[[Deps], Callable[..., None]]
    options: dict[str, Any] = field(default_factory=dict)


TASKS: dict[str, Task] = {
    billing.SHARD_TASK: Task(Queue.BILLING, billing.shard_actor),
}

HANDLERS: dict[type[Event], Handler] = {
    SubscriptionPurchased: lifecycle.record_purchase,
    RenewalConsentGiven: lifecycle.give_renewal_consent,
    CancellationRequested: lifecycle.request_cancellation,
    AnnualTermEnded: lifecycle.end_annual_term,
    ExpiryTick: expiry.on_expiry_tick,
    SubscriptionExpiringSoon: reminders.send_reminder,
    BillingCycleClosed: billing.close_billing_cycle,
    OtpRequested: otp.request_code,
    MobileNumberRegistrationSubmitted: otp.register_number,
}

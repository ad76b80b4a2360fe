"""The handler table: which plain function reacts to which event type.

A handler is a function of the event and its named dependencies (``Deps``),
easy to call from a test with fakes (tests/test_handlers.py). It may raise
``events.reasons.Refusal`` (the event is refused for good) or
``workers.errors.RetryLater``; the actor turns those into a dead letter or
a retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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

E = TypeVar("E", bound=Event)
Handler = Callable[[Event, Deps], object]


def _handler(event_type: type[E], fn: Callable[[E, Deps], object]) -> tuple[type[Event], Handler]:
    """A table entry; mypy checks that ``fn`` takes exactly ``event_type``."""

    def handle(event: Event, deps: Deps) -> object:
        if not isinstance(event, event_type):
            raise TypeError(f"{type(event).__name__} given to the {event_type.__name__} handler")
        return fn(event, deps)

    return event_type, handle


HANDLERS: dict[type[Event], Handler] = dict(
    [
        _handler(SubscriptionPurchased, lifecycle.record_purchase),
        _handler(RenewalConsentGiven, lifecycle.give_renewal_consent),
        _handler(CancellationRequested, lifecycle.request_cancellation),
        _handler(AnnualTermEnded, lifecycle.end_annual_term),
        _handler(ExpiryTick, expiry.on_expiry_tick),
        _handler(SubscriptionExpiringSoon, reminders.send_reminder),
        _handler(BillingCycleClosed, billing.close_billing_cycle),
        _handler(OtpRequested, otp.request_code),
        _handler(MobileNumberRegistrationSubmitted, otp.register_number),
    ]
)


@dataclass(frozen=True)
class Task:
    """An actor that is not an event's: the shards of a month-end close.

    ``body(deps)`` returns the function Dramatiq calls with the message's args.
    """

    queue: Queue
    body: Callable[[Deps], Callable[..., None]]
    options: dict[str, Any] = field(default_factory=dict)


TASKS: dict[str, Task] = {
    billing.SHARD_TASK: Task(Queue.BILLING, billing.shard_actor),
}

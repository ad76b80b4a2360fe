"""The handler table: which plain function reacts to which event type.

A handler takes the event and the Deps and may raise ``store.errors.Refusal``;
the actor turns that into a retry or a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events import (
    AnnualTermEnded,
    CancellationRequested,
    Event,
    RenewalConsentGiven,
    SubscriptionPurchased,
)
from workers.deps import Deps
from workers.handlers import lifecycle

Handler = Callable[[Any, Deps], object]

HANDLERS: dict[type[Event], Handler] = {
    SubscriptionPurchased: lifecycle.record_purchase,
    RenewalConsentGiven: lifecycle.give_renewal_consent,
    CancellationRequested: lifecycle.request_cancellation,
    AnnualTermEnded: lifecycle.end_annual_term,
}

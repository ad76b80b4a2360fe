"""The store's refusals. Each names the id it is about."""

from __future__ import annotations

from events.reasons import Reason, Refusal


class StoreError(Exception):
    """Root of every error the store raises that is not a refusal."""


class UnknownSubscription(Refusal):
    def __init__(self, subscription_id: str) -> None:
        super().__init__(Reason.UNKNOWN_SUBSCRIPTION, f"no subscription {subscription_id!r}")


class EventIdReused(Refusal):
    def __init__(self, event_id: str) -> None:
        super().__init__(
            Reason.EVENT_ID_REUSED, f"event_id {event_id!r} was already used with another payload"
        )


class SubscriptionExists(Refusal):
    def __init__(self, subscription_id: str) -> None:
        super().__init__(
            Reason.SUBSCRIPTION_EXISTS,
            f"subscription {subscription_id!r} exists from another purchase",
        )


class PeriodNotClosed(Refusal):
    def __init__(self, period: str, why: str) -> None:
        super().__init__(Reason.PERIOD_NOT_CLOSED, f"{period} {why}")

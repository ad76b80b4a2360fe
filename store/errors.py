"""The store's refusals. Each names the id it is about."""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error the store raises."""


class Refusal(StoreError):
    """A well-formed event that the rules refuse; ``reason`` is a stable word."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class UnknownSubscription(Refusal):
    def __init__(self, subscription_id: str) -> None:
        super().__init__("unknown_subscription", f"no subscription {subscription_id!r}")


class EventIdReused(Refusal):
    def __init__(self, event_id: str) -> None:
        super().__init__(
            "event_id_reused", f"event_id {event_id!r} was already used with another payload"
        )


class SubscriptionExists(Refusal):
    def __init__(self, subscription_id: str) -> None:
        super().__init__(
            "subscription_exists", f"subscription {subscription_id!r} exists from another purchase"
        )

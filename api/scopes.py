"""What an API key may do (SPEC section 12). A point of sale holds
``events:SubscriptionPurchased`` and nothing else."""

from __future__ import annotations

from events import EVENT_TYPES

OTP = "otp"
SUBSCRIPTIONS_READ = "subscriptions:read"
CHARGES_READ = "charges:read"
OPERATOR = "operator"
ALL_EVENTS = "events:*"
FIXED = frozenset({OTP, SUBSCRIPTIONS_READ, CHARGES_READ, OPERATOR, ALL_EVENTS})


def publishes(event_type: str) -> str:
    return f"events:{event_type}"


def every_scope() -> list[str]:
    return sorted(FIXED | {publishes(t) for t in EVENT_TYPES})


def problem_with(scope: str) -> str | None:
    """Why ``scope`` is not one, or None."""
    if scope in FIXED:
        return None
    if scope.startswith("events:") and scope.removeprefix("events:") in EVENT_TYPES:
        return None
    return f"unknown scope {scope!r}; one of: {', '.join(every_scope())}"


def may_publish(scopes: frozenset[str], event_type: str) -> bool:
    return ALL_EVENTS in scopes or publishes(event_type) in scopes


def publishes_anything(scopes: frozenset[str]) -> bool:
    return any(s.startswith("events:") for s in scopes)

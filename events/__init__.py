"""What happened: the event models, their envelope and the catalogue, and
the rules every input is judged by at the edge.

This package imports nothing else of subcycle's.
"""

from events.base import Event
from events.catalogue import (
    EVENT_TYPES,
    QUEUE_OF,
    AnnualTermEnded,
    AnyEvent,
    BillingCycleClosed,
    CancellationRequested,
    ExpiryTick,
    MobileNumberRegistrationSubmitted,
    OtpRequested,
    Queue,
    RenewalConsentGiven,
    SubscriptionExpiringSoon,
    SubscriptionPurchased,
    queue_of,
)
from events.edge import (
    parse_event,
    parse_event_json,
    parse_upstream,
    parse_upstream_json,
    read_json,
    refuse_reserved,
)
from events.errors import InvalidEvent, Problem
from events.schema import json_schema, openapi_components
from events.types import JST, normalise_phone

__all__ = [
    "EVENT_TYPES",
    "JST",
    "QUEUE_OF",
    "AnnualTermEnded",
    "AnyEvent",
    "BillingCycleClosed",
    "CancellationRequested",
    "Event",
    "ExpiryTick",
    "InvalidEvent",
    "MobileNumberRegistrationSubmitted",
    "OtpRequested",
    "Problem",
    "Queue",
    "RenewalConsentGiven",
    "SubscriptionExpiringSoon",
    "SubscriptionPurchased",
    "json_schema",
    "normalise_phone",
    "openapi_components",
    "parse_event",
    "parse_event_json",
    "parse_upstream",
    "parse_upstream_json",
    "queue_of",
    "read_json",
    "refuse_reserved",
]

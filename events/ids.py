"""Identifiers: the grammar every id obeys, the ids subcycle derives, and the
prefixes it keeps for itself (SPEC sections 10 and 11).

Every id that comes in (``subscription_id``, ``event_id``) is 1–128 ASCII
characters of ``[A-Za-z0-9._:@-]``. Every id subcycle derives from one is
valid by the same grammar, however long the id it came from: a part longer
than ``SHORT`` characters is replaced by a token of ``SHORT + 1`` characters
(``x`` and the SHA-256 of the part in hex), so a derived id never outgrows
the grammar and a long id's token can never be mistaken for a short id
spelled the same way (they differ in length).

Derived event ids start with a prefix that upstreams may not use
(``reserved_event_id``): no upstream event can make a tick, a close, a term
end or a reminder a duplicate of itself.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

MAX_LENGTH = 128
SHORT = 64
GRAMMAR = "1 to 128 characters of A-Z a-z 0-9 . _ : @ -"
_IDENTIFIER = re.compile(r"[A-Za-z0-9._:@-]{1,128}")

EXPIRY = "expiry:"
MONTH_END = "month-end:"
TERM_END = "term-end:"
REMINDER = "reminder:"
# Not event ids but derived from them, or names subcycle gives its records:
# a gateway message id, and the ids of refusal records.
OTP_MESSAGE = "otp:"
MESSAGE = "msg:"
POISON = "poison:"
DEAD_LETTER = "xq:"
TICK_ITEM = "tick:"
RESERVED_PREFIXES = (
    EXPIRY,
    MONTH_END,
    TERM_END,
    REMINDER,
    OTP_MESSAGE,
    MESSAGE,
    POISON,
    DEAD_LETTER,
    TICK_ITEM,
)

# Which event type may carry a derived id, for a message found on a queue.
OWNER_OF_PREFIX = {
    EXPIRY: "ExpiryTick",
    MONTH_END: "BillingCycleClosed",
    TERM_END: "AnnualTermEnded",
    REMINDER: "SubscriptionExpiringSoon",
}


def is_identifier(value: object) -> bool:
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def reserved_prefix(event_id: str) -> str | None:
    """The reserved prefix ``event_id`` starts with, if any."""
    if not event_id.startswith(RESERVED_PREFIXES):  # every upstream's id: one call
        return None
    return next(p for p in RESERVED_PREFIXES if event_id.startswith(p))


def token(part: str) -> str:
    """``part`` itself when short, else a fixed-length token of its hash."""
    if len(part) <= SHORT:
        return part
    return "x" + hashlib.sha256(part.encode()).hexdigest()


def expiry_tick_id(day: date) -> str:
    return f"{EXPIRY}{day.isoformat()}"


def month_end_id(period: str) -> str:
    return f"{MONTH_END}{period}"


def term_end_id(subscription_id: str, expires_on: date) -> str:
    return f"{TERM_END}{token(subscription_id)}:{expires_on.isoformat()}"


def reminder_id(subscription_id: str, expires_on: date, offset_days: int) -> str:
    return f"{REMINDER}{token(subscription_id)}:{expires_on.isoformat()}:{offset_days}"


def otp_message_id(event_id: str) -> str:
    """The gateway message id (and provider idempotency key) of a code's delivery."""
    return f"{OTP_MESSAGE}{token(event_id)}"

"""Every Redis key subcycle writes, in one place, under one prefix.

Ids never go raw into a key name. An id (a subscription, an event, a
message, a phone number) is written between braces: ``sub:{SUB-1}``,
``sub:{SUB-1}:facts``. No id may contain a brace (events/ids.py), so a key
reads back to exactly one kind and one id, and no id can name, read or
overwrite another record: ``SUB-1:facts`` is the subscription
``sub:{SUB-1:facts}``, never a part of ``SUB-1``. (tests/test_keys.py proves
it for every pair of ids the grammar allows.)
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

# Small hashes, so Redis keeps each as a listpack (docs/capacity.md).
PHONE_BUCKETS = 32_768
CLAIM_BUCKETS = 65_536


def braced(value: str) -> str:
    if "{" in value or "}" in value:
        raise ValueError(f"not an id: {value[:80]!r}")
    return "{" + value + "}"


@dataclass(frozen=True)
class Keys:
    prefix: str = "subcycle:"

    def subscription(self, subscription_id: str) -> str:
        return f"{self.prefix}sub:{braced(subscription_id)}"

    def facts(self, subscription_id: str) -> str:
        """A subscription's facts in the layout before the compact store (store/legacy.py)."""
        return f"{self.prefix}sub:{braced(subscription_id)}:facts"

    def event(self, event_id: str) -> str:
        """An event's own claim record: a verification code's, which expires
        with its attempt (store/otp.py)."""
        return f"{self.prefix}event:{braced(event_id)}"

    def claim(self, event_id: str) -> tuple[str, str]:
        """Where every other event's claim lives (store/events.py): a field
        named by the id in one of ``CLAIM_BUCKETS`` small hashes."""
        bucket = zlib.crc32(event_id.encode()) % CLAIM_BUCKETS
        return f"{self.prefix}ev:{bucket}", event_id

    def sent(self, message_id: str) -> str:
        """A message the gateway accepted (workers/gateway/delivery.py)."""
        return f"{self.prefix}sent:{braced(message_id)}"

    @property
    def outbox(self) -> str:
        return f"{self.prefix}outbox"

    @property
    def scheduler_lease(self) -> str:
        return f"{self.prefix}scheduler:lease"

    @property
    def expiry_index(self) -> str:
        return f"{self.prefix}idx:expires"

    # The daily expiry tick's pending work (store/expiry.py): term ends not yet
    # enqueued, and reminders not yet due (by expires_on) or due next (by day).
    @property
    def term_ends_pending(self) -> str:
        return f"{self.prefix}idx:term-ends"

    @property
    def reminders_upcoming(self) -> str:
        return f"{self.prefix}idx:reminders:upcoming"

    @property
    def reminders_next(self) -> str:
        return f"{self.prefix}idx:reminders:next"

    @property
    def refused(self) -> str:
        return f"{self.prefix}refused"

    @property
    def refused_by_time(self) -> str:
        return f"{self.prefix}refused:by_time"

    # Verification codes (store/otp.py): per-number state, sends windows, history.
    def otp(self, phone: str) -> str:
        return f"{self.prefix}otp:{braced(phone)}"

    def otp_sends(self, phone: str) -> str:
        return f"{self.prefix}otp:{braced(phone)}:sends"

    def otp_history(self, phone: str) -> str:
        return f"{self.prefix}otp:{braced(phone)}:history"

    @property
    def otp_sends_overall(self) -> str:
        return f"{self.prefix}otp:sends"

    def phone_locale(self, phone: str) -> str:
        """The bucket of the phone → locale index that holds ``phone`` (store/phones.py)."""
        return self.phone_bucket(zlib.crc32(phone.encode()) % PHONE_BUCKETS)

    def phone_bucket(self, bucket: int) -> str:
        return f"{self.prefix}idx:phones:{bucket}"

    @property
    def legacy_phone_locale(self) -> str:
        """The one hash of that index before the compact store (``subcycle migrate``)."""
        return f"{self.prefix}idx:phone_locale"

"""Every Redis key subcycle writes, in one place, under one prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "subcycle:"

    def subscription(self, subscription_id: str) -> str:
        return f"{self.prefix}sub:{subscription_id}"

    def facts(self, subscription_id: str) -> str:
        return f"{self.prefix}sub:{subscription_id}:facts"

    def event(self, event_id: str) -> str:
        return f"{self.prefix}event:{event_id}"

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
        return f"{self.prefix}otp:{phone}"

    def otp_sends(self, phone: str) -> str:
        return f"{self.prefix}otp:{phone}:sends"

    def otp_history(self, phone: str) -> str:
        return f"{self.prefix}otp:{phone}:history"

    @property
    def otp_sends_overall(self) -> str:
        return f"{self.prefix}otp:sends"

    @property
    def phone_locale(self) -> str:
        return f"{self.prefix}idx:phone_locale"

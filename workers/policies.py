"""What operators configure about the handlers' behaviour, as values the
composition root builds from the settings (subcycle/annual_config.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from events import JST

DEFAULT_RENEWAL_URL = "https://sc.example.jp/renew"


@dataclass(frozen=True)
class ReminderPolicy:
    """Reminder offsets (days before expires_on), the renewal URL, the JST daytime."""

    offsets_days: tuple[int, ...] = (30, 7)
    renewal_url: str = DEFAULT_RENEWAL_URL
    daytime_start: time = time(9, 0)
    daytime_end: time = time(21, 0)

    def daytime(self, moment: datetime) -> bool:
        local = moment.astimezone(JST).time()
        return self.daytime_start <= local < self.daytime_end


@dataclass(frozen=True)
class RacingPurchase:
    """How long an event waits for the purchase it may be racing on another
    queue (SPEC section 4): a cancellation, a consent, a verification code
    for a number not known yet. The one rule, used by the actors and the
    code handler alike."""

    retries: int = 5
    backoff_ms: int = 250

    def delay_ms(self, retries_so_far: int | None) -> int | None:
        """How long to wait before the next try; None: wait no more (outside a
        worker nothing runs later, or the tries ran out)."""
        if retries_so_far is None or retries_so_far >= self.retries:
            return None
        delay: int = self.backoff_ms * 2**retries_so_far
        return delay

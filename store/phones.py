"""Which numbers have a contract, and in which locale: ``phone → locale``,
in ``PHONE_BUCKETS`` small hashes by a hash of the number (store/keys.py).

The OTP actor reads it (inside its request script) to deliver a code, and to
withhold one from a number with no contract, without scanning subscriptions.
It is written from ``store.indexes.on_change``, in the same MULTI/EXEC as the
purchase, so a number is known exactly when its subscription is. A number keeps its entry
after its subscription ends: a former customer may still log in to see it.
"""

from __future__ import annotations

from typing import Any

from store.keys import Keys
from store.records import Subscription


def index_phone(pipe: Any, keys: Keys, before: Subscription | None, after: Subscription) -> None:
    # Only a purchase brings a number; later facts never change phone or locale.
    # With several contracts on one number the latest purchase's locale wins.
    if before is None:
        pipe.hset(keys.phone_locale(after.phone), after.phone, after.locale)

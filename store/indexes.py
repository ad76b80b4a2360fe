"""Secondary indexes kept in step with every subscription change.

They are written in the same MULTI/EXEC as the change, from the subscription
as it will eventually stand given what is known (``as_of`` the end of time),
so a term end due but not yet ticked is already indexed for billing.
"""

from __future__ import annotations

from typing import Any

from store.billing import BillingKeys, index_span
from store.expiry import index_annual_term
from store.keys import Keys
from store.phones import index_phone
from store.records import Subscription


def on_change(
    pipe: Any,
    keys: Keys,
    before: Subscription | None,
    after: Subscription,
    latest_close: int | None,
    level: int,
) -> None:
    """``latest_close``: the latest month whose close has started, as the
    writer read it (store.billing.latest_close); ``level``: the record's
    billing index level (``store.codec.level_of``)."""
    if before is None and after.expires_on is not None:
        pipe.zadd(keys.expiry_index, {after.subscription_id: after.expires_on.toordinal()})
    index_annual_term(pipe, keys, before, after)
    index_phone(pipe, keys, before, after)
    index_span(pipe, BillingKeys(keys.prefix), before, after, latest_close, level)

"""Month-end billing: ``BillingCycleClosed`` fans the close out into shards;
each shard is one atomic Redis script (store/billing.py), run by whichever
worker process takes it. The close of a month is finished when its last shard
is; progress (shards done / total) is logged by every shard."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from events import BillingCycleClosed
from events.reasons import Reason, Refusal
from events.types import parse_period
from store.billing import SHARDS
from store.calendar import next_period, period_start
from workers import metrics
from workers.deps import Deps
from workers.errors import Rejected

log = structlog.get_logger(__name__)

SHARD_TASK = "BillingShard"


def close_billing_cycle(event: BillingCycleClosed, deps: Deps) -> None:
    """Start (or, redelivered, finish starting) the close of ``event.period``."""
    ended_at = period_start(next_period(event.period))
    if event.occurred_at < ended_at:
        raise Refusal(
            Reason.PERIOD_NOT_ENDED,
            f"period {event.period} has not ended at occurred_at {event.occurred_at.isoformat()}",
        )
    billing = deps.store.billing
    run = event.event_id
    already_sent = billing.register_close(event.period, run, event.occurred_at)
    if not already_sent:
        # Shards are idempotent, so a crash before mark_sent only costs a
        # second, empty pass over the shards already done.
        for shard in range(SHARDS):
            deps.send_task(SHARD_TASK, (event.period, shard, run))
        billing.mark_sent(event.period, run)
    deps.store.events.mark_done(event.event_id, event.fingerprint())
    log.info("billing_close_started", period=event.period, shards=SHARDS, resent=not already_sent)


def shard_actor(deps: Deps) -> Callable[[str, int, str], None]:
    def close_shard(period: str, shard: int, run: str) -> None:
        try:
            parse_period(period)
        except ValueError as e:
            raise Rejected(Reason.INVALID_TASK, f"period: {e}") from None
        if not (isinstance(shard, int) and 0 <= shard < SHARDS):
            raise Rejected(Reason.INVALID_TASK, f"shard: not in 0..{SHARDS - 1}: {shard!r}")
        result = deps.store.billing.close_shard(period, shard, str(run))
        metrics.charge_recorded(
            amount_jpy=result.amount_jpy, count=result.charged + result.caught_up
        )
        # A fresh logger per shard, so a reconfigured structlog is honoured
        # (the module's proxy caches its configuration on first use).
        log = structlog.get_logger(__name__)
        log.info(
            "billing_shard_closed",
            period=period,
            shard=shard,
            charged=result.charged,
            caught_up=result.caught_up,
            progress=f"{result.done}/{result.total}",
        )
        if result.closed:
            log.info("billing_cycle_closed", period=period, charges=deps.store.ledger.count(period))

    return close_shard

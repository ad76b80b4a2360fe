"""Handlers of the subscription lifecycle: purchase, renewal consent,
cancellation and term end. Plain functions of the event and their deps."""

from __future__ import annotations

import structlog

from events import (
    AnnualTermEnded,
    CancellationRequested,
    RenewalConsentGiven,
    SubscriptionPurchased,
    queue_of,
)
from events.reasons import Reason, Refusal
from store.calendar import jst_date
from store.errors import UnknownSubscription
from store.records import Fact, purchase_of
from store.refusals import refused
from store.subscriptions import Applied
from workers.deps import Deps

log = structlog.get_logger(__name__)


def record_purchase(event: SubscriptionPurchased, deps: Deps) -> Applied:
    return purchased(
        event, deps.store.subscriptions.purchase(purchase_of(event), event.fingerprint()), deps
    )


def purchased(event: SubscriptionPurchased, applied: Applied, deps: Deps) -> Applied:
    """What follows a purchase's commit (``subcycle import`` calls it with a
    commit of its own, workers/importer.py)."""
    log.info(
        "subscription_purchased",
        subscription_id=event.subscription_id,
        plan=event.plan,
        duplicate=applied.duplicate,
    )
    return applied


def give_renewal_consent(event: RenewalConsentGiven, deps: Deps) -> Applied:
    return _apply(event, event.subscription_id, None, deps)


def request_cancellation(event: CancellationRequested, deps: Deps) -> Applied:
    # No message is ever sent for a cancellation (SPEC section 4).
    return _apply(event, event.subscription_id, event.kind, deps)


def end_annual_term(event: AnnualTermEnded, deps: Deps) -> Applied:
    # Only the end of this subscription's own term, dated after its last day:
    # a stray one would move the subscription's clock (its watermark) ahead.
    sub = deps.store.subscriptions.get(event.subscription_id)
    if sub is None:
        raise UnknownSubscription(event.subscription_id)
    if sub.expires_on != event.expires_on:
        raise Refusal(
            Reason.NOT_THIS_TERM,
            f"{event.subscription_id}'s term ends on {sub.expires_on}, not {event.expires_on}",
        )
    if jst_date(event.occurred_at) <= event.expires_on:
        raise Refusal(
            Reason.TERM_NOT_ENDED, f"{event.expires_on} is not over at {event.occurred_at}"
        )
    return _apply(event, event.subscription_id, None, deps)


def _apply(
    event: RenewalConsentGiven | CancellationRequested | AnnualTermEnded,
    subscription_id: str,
    kind: str | None,
    deps: Deps,
) -> Applied:
    fact = Fact(event.event_id, event.type, event.occurred_at, kind)
    # The commit is this message's last effect unless the fact is refused
    # (its refusal is recorded below), so it may settle the message.
    applied = deps.store.subscriptions.apply(
        subscription_id, fact, event.fingerprint(), deps.settlement()
    )
    return changed(event, applied, deps)


def changed(
    event: RenewalConsentGiven | CancellationRequested | AnnualTermEnded,
    applied: Applied,
    deps: Deps,
) -> Applied:
    """What follows a fact's commit: its log line, and a rule's refusal
    recorded (``subcycle import`` calls it with a commit of its own)."""
    subscription_id = event.subscription_id
    entry = applied.entry
    outcome = entry.outcome if entry else "applied"
    log.info(
        "subscription_changed",
        subscription_id=subscription_id,
        event_type=event.type,
        outcome=outcome,
        reason=entry.reason if entry else None,
        license_type=applied.subscription.license_type,
        duplicate=applied.duplicate,
    )
    if entry is not None and entry.reason and not applied.duplicate:
        # A rule's refusal: kept in the history and in the refused-events
        # record, but not a dead letter (retrying it cannot help).
        deps.store.refusals.record(
            refused(
                refusal_id=event.event_id,
                queue=queue_of(event).value,
                reason=entry.reason,
                detail=f"{event.type} refused for {subscription_id}: {entry.reason}",
                at=deps.clock(),
                payload=event.wire(),
                dead_lettered=False,
            )
        )
    return applied

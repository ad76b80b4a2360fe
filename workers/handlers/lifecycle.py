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
from store.calendar import jst_date
from store.codec import digest
from store.errors import Refusal, UnknownSubscription
from store.records import Fact, Purchase
from store.refusals import RefusedEvent
from store.subscriptions import Applied
from workers.deps import Deps

log = structlog.get_logger(__name__)


def record_purchase(event: SubscriptionPurchased, deps: Deps) -> Applied:
    purchase = Purchase(
        subscription_id=event.subscription_id,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        phone=event.phone,
        product=event.product,
        locale=event.locale,
        plan=event.plan,
        term_years=event.term_years,
        starts_on=event.starts_on,
        monthly_fee_jpy=event.monthly_fee_jpy,
    )
    applied = deps.store.subscriptions.purchase(purchase, digest(event.wire()))
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
            "not_this_term",
            f"{event.subscription_id}'s term ends on {sub.expires_on}, not {event.expires_on}",
        )
    if jst_date(event.occurred_at) <= event.expires_on:
        raise Refusal("term_not_ended", f"{event.expires_on} is not over at {event.occurred_at}")
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
        subscription_id, fact, digest(event.wire()), settle=deps.settlement()
    )
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
        deps.store.refusals.record(
            RefusedEvent(
                refusal_id=event.event_id,
                event_id=event.event_id,
                type=event.type,
                queue=queue_of(event).value,
                reason=entry.reason,
                detail=f"{event.type} refused for {subscription_id}: {entry.reason}",
                refused_at=deps.clock(),
                payload=event.wire(),
            )
        )
    return applied

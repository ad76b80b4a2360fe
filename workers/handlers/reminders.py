"""The renewal reminder: ``SubscriptionExpiringSoon`` → one SMS per offset per term.

The tick chose the reminder from the subscription as it stood; this handler
checks again when the message would leave, because consent or a cancelled
auto renewal may have arrived in between. Every decision is judged at the
tick's time (the event's ``occurred_at``), never the wall clock, so a backfill
or a queue running behind decides as the tick would have. The tick fans out
reminders only in the daytime; one published at night by someone else is
not sent, and its id is released so a daytime tick can send it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import structlog

from events import JST, SubscriptionExpiringSoon
from events.reasons import Reason, Refusal
from store.calendar import jst_date
from store.errors import UnknownSubscription
from store.expiry import wants_reminders
from store.records import Subscription
from workers.deps import Deps
from workers.errors import RetryLater
from workers.gateway.base import OutgoingMessage, PermanentFailure, TemporaryFailure
from workers.messages.reminders import renewal_reminder

log = structlog.get_logger(__name__)


def send_reminder(event: SubscriptionExpiringSoon, deps: Deps) -> bool:
    """Deliver the reminder once; False when there is nothing (more) to send."""
    policy = deps.reminders
    sub, skip = _checked(event, deps)
    now = deps.clock()  # only to stamp sent_at; no decision reads it
    if skip is None and jst_date(event.occurred_at) > event.expires_on:
        skip = "term_ended"  # the renewal URL no longer helps
    if skip is not None:
        log.info("reminder_skipped", subscription_id=event.subscription_id, reason=skip)
        deps.store.events.mark_done(event.event_id, event.fingerprint())
        return False
    if not policy.daytime(event.occurred_at):
        log.info("reminder_not_sent_at_night", at=event.occurred_at.isoformat())
        deps.store.events.forget(event.event_id, event.fingerprint())
        return False
    message = OutgoingMessage(
        message_id=event.event_id,
        to=sub.phone,
        channel="sms",
        kind="renewal_reminder",
        text=renewal_reminder(sub.locale, event.expires_on, policy.renewal_url),
        locale=sub.locale,
    )
    # Once the term is over a redelivered reminder is skipped (term_ended).
    term_over = datetime.combine(event.expires_on + timedelta(days=2), time(0), tzinfo=JST)
    try:
        delivered = deps.delivery.deliver(message, now, keep_for=term_over - now)
    except PermanentFailure as e:
        raise Refusal(Reason.PROVIDER_REFUSED, f"message {event.event_id}: {e.reason}") from None
    except TemporaryFailure as e:
        # Expected now and then: retried with the queue's back-off.
        log.warning("gateway_temporary_failure", detail=str(e))
        raise RetryLater(str(e)) from None
    deps.store.events.mark_done(event.event_id, event.fingerprint())
    log.info(
        "reminder_sent",
        subscription_id=event.subscription_id,
        days_left=event.days_left,
        duplicate=not delivered,
    )
    return delivered


def _checked(event: SubscriptionExpiringSoon, deps: Deps) -> tuple[Subscription, str | None]:
    """The subscription, and why it must not be reminded now (None when it must)."""
    subs = deps.store.subscriptions
    latest = subs.get(event.subscription_id)
    if latest is None:
        raise UnknownSubscription(event.subscription_id)
    if latest.expires_on != event.expires_on:
        return latest, "another_term"
    if not wants_reminders(latest):
        return latest, "renewal_decided"
    at_tick = subs.get(event.subscription_id, event.occurred_at)
    if at_tick is None or at_tick.license_type != "Annual":
        return latest, "not_annual"
    return latest, None

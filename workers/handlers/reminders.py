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

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import dramatiq
import structlog

from events import JST, SubscriptionExpiringSoon
from store.calendar import jst_date
from store.codec import digest
from store.errors import Refusal, UnknownSubscription
from store.expiry import wants_reminders
from store.records import Subscription
from workers.deps import Deps
from workers.gateway.base import OutgoingMessage, PermanentFailure, TemporaryFailure
from workers.messages.reminders import renewal_reminder

log = structlog.get_logger(__name__)

DEFAULT_RENEWAL_URL = "https://sc.example.jp/renew"


@dataclass(frozen=True)
class ReminderPolicy:
    """Reminder settings; the composition root puts one in ``deps.extras``."""

    offsets_days: tuple[int, ...] = (30, 7)
    renewal_url: str = DEFAULT_RENEWAL_URL
    daytime_start: time = time(9, 0)
    daytime_end: time = time(21, 0)

    def daytime(self, moment: datetime) -> bool:
        local = moment.astimezone(JST).time()
        return self.daytime_start <= local < self.daytime_end

    def next_morning(self, moment: datetime) -> datetime:
        """The next time the daytime window opens after ``moment``."""
        local = moment.astimezone(JST)
        opening = datetime.combine(local.date(), self.daytime_start, tzinfo=JST)
        return opening if local < opening else opening + timedelta(days=1)


def policy_of(deps: Deps) -> ReminderPolicy:
    policy = deps.extras.get("reminders")
    return policy if isinstance(policy, ReminderPolicy) else ReminderPolicy()


def send_reminder(event: SubscriptionExpiringSoon, deps: Deps) -> bool:
    """Deliver the reminder once; False when there is nothing (more) to send."""
    policy = policy_of(deps)
    sub, skip = _checked(event, deps)
    now = deps.clock()  # only to stamp sent_at; no decision reads it
    if skip is None and jst_date(event.occurred_at) > event.expires_on:
        skip = "term_ended"  # the renewal URL no longer helps
    if skip is not None:
        log.info("reminder_skipped", subscription_id=event.subscription_id, reason=skip)
        deps.store.events.mark_done(event.event_id, digest(event.wire()))
        return False
    if not policy.daytime(event.occurred_at):
        log.info("reminder_not_sent_at_night", at=event.occurred_at.isoformat())
        deps.store.events.forget(event.event_id, digest(event.wire()))
        return False
    message = OutgoingMessage(
        message_id=event.event_id,
        to=sub.phone,
        channel="sms",
        kind="renewal_reminder",
        text=renewal_reminder(sub.locale, event.expires_on, policy.renewal_url),
        locale=sub.locale,
    )
    try:
        # Once the term is over a redelivered reminder is skipped (term_ended).
        term_over = datetime.combine(event.expires_on + timedelta(days=2), time(0), tzinfo=JST)
        delivered = deps.delivery.deliver(message, now, keep_for=term_over - now)
    except PermanentFailure as e:
        raise Refusal("provider_refused", f"message {event.event_id}: {e.reason}") from e
    except TemporaryFailure as e:
        # Expected now and then: retried with the queue's back-off, without a traceback.
        log.warning("gateway_temporary_failure", detail=str(e))
        raise dramatiq.Retry(str(e)) from e
    deps.store.events.mark_done(event.event_id, digest(event.wire()))
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

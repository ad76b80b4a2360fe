"""The lifecycle rules (SPEC sections 3 and 4) as a fold over dated facts.

A subscription's state is never patched in place: it is recomputed from its
purchase and every fact known about it, taken in ``occurred_at`` order. So an
event is judged against the subscription as it stood at its ``occurred_at``,
and the result is the same whatever order the queues delivered the facts in
(the earliest cancellation stands; the later of consent and auto-renewal
cancellation wins; a term end applies the day after ``expires_on`` whether or
not the daily tick has got to it yet).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from events import JST
from events.ids import term_end_id
from events.reasons import Reason
from store.calendar import jst_date, month_end, term_expires_on
from store.records import (
    AUTO_RENEWAL_CANCELLED_NOTICE,
    Fact,
    HistoryEntry,
    Purchase,
    Subscription,
)

CONSENT = "RenewalConsentGiven"
CANCELLATION = "CancellationRequested"
TERM_ENDED = "AnnualTermEnded"


def project(purchase: Purchase, facts: Iterable[Fact], as_of: datetime) -> Subscription:
    """The subscription as it stands at ``as_of`` given everything known."""
    sub = _start(purchase)
    for fact in sorted(facts, key=lambda f: (f.at, f.event_id)):
        _end_term_if_due(sub, fact.at)
        entry = _apply(sub, fact)
        if entry is not None:
            sub.history.append(entry)
    _end_term_if_due(sub, as_of)
    sub.as_of = as_of
    return sub


def _start(p: Purchase) -> Subscription:
    annual = p.plan == "annual"
    expires_on = term_expires_on(p.starts_on, p.term_years or 1) if annual else None
    return Subscription(
        subscription_id=p.subscription_id,
        phone=p.phone,
        product=p.product,
        locale=p.locale,
        plan=p.plan,
        term_years=p.term_years,
        starts_on=p.starts_on,
        expires_on=expires_on,
        monthly_fee_jpy=p.monthly_fee_jpy,
        auto_renewal=not annual,
        monthly_started_on=None if annual else p.starts_on,
        as_of=p.occurred_at,
        history=[HistoryEntry(p.event_id, "SubscriptionPurchased", p.occurred_at, "purchased")],
    )


def _end_term_if_due(sub: Subscription, moment: datetime) -> None:
    if sub.plan != "annual" or sub.expired or sub.expires_on is None:
        return
    if jst_date(moment) <= sub.expires_on:
        return
    first_day = sub.expires_on + timedelta(days=1)
    at = datetime.combine(first_day, time(0), tzinfo=JST)
    event_id = term_end_id(sub.subscription_id, sub.expires_on)
    if sub.auto_renewal:
        sub.plan = "monthly"
        sub.monthly_started_on = first_day
        sub.history.append(HistoryEntry(event_id, TERM_ENDED, at, "switched_to_monthly"))
    else:
        sub.expired = True
        sub.service_until = sub.expires_on
        sub.history.append(HistoryEntry(event_id, TERM_ENDED, at, "expired"))


def _apply(sub: Subscription, fact: Fact) -> HistoryEntry | None:
    if fact.type == CONSENT:
        reason = _give_consent(sub, fact)
        done = "renewal_consent_recorded"
    elif fact.type == CANCELLATION:
        reason, done = _cancel(sub, fact)
    else:
        # An AnnualTermEnded only moves time forward; the term end itself is
        # written into the history by _end_term_if_due, under the same id.
        return None
    if reason is not None:
        return HistoryEntry(fact.event_id, fact.type, fact.at, "refused", reason)
    return HistoryEntry(fact.event_id, fact.type, fact.at, done)


def _give_consent(sub: Subscription, fact: Fact) -> Reason | None:
    if sub.expires_on is None:
        return Reason.NOT_ANNUAL
    if jst_date(fact.at) > sub.expires_on:
        return Reason.TERM_ENDED
    sub.auto_renewal = True
    sub.renewal_consent_at = fact.at
    sub.notice = None
    return None


def _cancel(sub: Subscription, fact: Fact) -> tuple[Reason | None, str]:
    if sub.expired:
        return Reason.NOT_ACTIVE, ""
    if sub.plan == "annual":
        if fact.kind == "monthly_service":
            return Reason.NOT_MONTHLY, ""
        sub.auto_renewal = False
        sub.auto_renewal_cancelled_at = fact.at
        sub.notice = AUTO_RENEWAL_CANCELLED_NOTICE
        return None, "auto_renewal_cancelled"
    if sub.cancelled_at is not None:
        # Facts are folded oldest first, so the cancellation already standing
        # is the earliest one.
        return Reason.ALREADY_CANCELLED, ""
    sub.auto_renewal = False
    sub.cancelled_at = fact.at
    sub.service_until = month_end(jst_date(fact.at))
    return None, "cancelled"

"""Handlers of the login page's requests: a verification code, a resend, a
registration of the mobile number. Plain functions of the event and deps.

The decision (new attempt, resend, registration required, rate limited,
stale) is one atomic step in the store, remembered per event id; delivery
comes after it and is exactly once per message id, so a redelivered request
repeats its delivery attempt and nothing else. Only the code id travels; the
code exists in memory while the message text is built, and is never logged.
"""

from __future__ import annotations

import structlog

from events import MobileNumberRegistrationSubmitted, OtpRequested
from events.ids import otp_message_id
from events.reasons import Reason, Refusal
from store.errors import EventIdReused
from store.otp import Decision, RequestKind
from workers.deps import Deps
from workers.errors import RetryLater
from workers.gateway.base import OutgoingMessage, PermanentFailure, TemporaryFailure
from workers.messages.otp import Channel, message_text
from workers.otp import Otp, OtpNotConfigured, new_code_id

log = structlog.get_logger(__name__)


def request_code(event: OtpRequested, deps: Deps) -> Decision:
    # The resend flag is informational: a live code makes any request a resend.
    return _decide_and_deliver(event, event.channel, "request", deps)


def register_number(event: MobileNumberRegistrationSubmitted, deps: Deps) -> Decision:
    # Both are already normalised to E.164, so 090-… and +8190… are equal.
    if event.phone != event.phone_confirmation:
        raise Refusal(Reason.NUMBERS_DO_NOT_MATCH, "phone_confirmation: differs from phone")
    return _decide_and_deliver(event, event.channel, "register", deps)


def _decide_and_deliver(
    event: OtpRequested | MobileNumberRegistrationSubmitted,
    channel: Channel,
    kind: RequestKind,
    deps: Deps,
) -> Decision:
    otp = deps.codes
    try:
        otp.policy.require_secret()
    except OtpNotConfigured as e:
        raise Refusal(Reason.OTP_SECRET_MISSING, str(e).split(": ", 1)[1]) from None
    decision = otp.codes.request(
        event.phone,
        event_id=event.event_id,
        fingerprint=event.fingerprint(),
        kind=kind,
        channel=channel,
        occurred_at=event.occurred_at,
        now=deps.clock(),
        rules=otp.policy.rules,
        fresh_code_id=new_code_id(),
    )
    if decision.outcome == "event_id_reused":
        raise EventIdReused(event.event_id)
    log.info(
        "verification_code_request",
        phone=event.phone,
        channel=channel,
        kind=kind,
        outcome=decision.outcome,
        duplicate=decision.duplicate,
    )
    if decision.delivers:
        _deliver(event, channel, decision, otp, deps)
    return decision


def _deliver(
    event: OtpRequested | MobileNumberRegistrationSubmitted,
    channel: Channel,
    decision: Decision,
    otp: Otp,
    deps: Deps,
) -> None:
    assert decision.code_id is not None
    assert decision.created_at is not None
    now = deps.clock()
    if now >= decision.created_at + otp.policy.rules.validity:
        # A retry after the code died: it could only confuse the customer.
        log.info("verification_code_not_delivered", reason="code_expired")
        return
    locale = decision.locale
    if locale is None:
        _wait_for_a_racing_purchase(deps)
        # No contract: same state machine, nothing ever sent (no enumeration).
        log.info("verification_code_not_delivered", reason="no_contract")
        return
    code = otp.code_for(event.phone, decision.code_id)
    message = OutgoingMessage(
        message_id=otp_message_id(event.event_id),
        to=event.phone,
        channel=channel,
        kind="verification_code",
        text=message_text(channel, otp.policy.product, code, locale),
        locale=locale,
    )
    try:
        delivered = deps.delivery.deliver(
            message, deps.clock(), keep_for=otp.policy.rules.attempt_lifetime
        )
    except PermanentFailure as e:
        raise Refusal(Reason.PROVIDER_REFUSED, _without(code, e.reason)) from None
    except TemporaryFailure as e:  # retried with the queue's back-off
        raise RetryLater(_without(code, str(e))) from None
    log.info("verification_code_delivered", channel=channel, delivered=delivered)


def _without(code: str, said: str) -> str:
    """A gateway's words with the code taken out, should a provider echo it."""
    return said.replace(code, "******")


def _wait_for_a_racing_purchase(deps: Deps) -> None:
    """A number with no contract yet may be racing its purchase, published
    with it and handled on another queue: the request runs again a bounded
    number of times, with the back-off a cancellation waits for its purchase,
    before nothing is sent. Each run is the same request (its first decision
    comes back), so nothing counts twice; the status is ``code_sent`` all
    along, as for any number."""
    delay_ms = deps.racing.delay_ms(deps.retries())
    if delay_ms is not None:
        raise RetryLater("no_contract_yet", delay_ms)

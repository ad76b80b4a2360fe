"""Why an event is refused: one vocabulary for every layer (STYLE 16).

The same word appears in a refusal record, a dead letter, a log line, the
CLI's stderr, a license history entry and an HTTP problem document.
``Refusal`` is the exception every layer raises to refuse an event.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # At the edge: the event itself.
    INVALID_EVENT = "invalid_event"
    RESERVED_EVENT_ID = "reserved_event_id"
    EVENT_ID_REUSED = "event_id_reused"
    # A message found on a queue (workers/transport/envelope.py).
    UNDECODABLE = "undecodable"
    MISSING_BODY = "missing_body"
    MALFORMED_MESSAGE = "malformed_message"
    WRONG_QUEUE = "wrong_queue"
    UNKNOWN_ACTOR = "unknown_actor"
    BAD_ARGUMENTS = "bad_arguments"
    WRONG_ACTOR = "wrong_actor"
    INVALID_TASK = "invalid_task"
    # The lifecycle (SPEC sections 3 and 4).
    SUBSCRIPTION_EXISTS = "subscription_exists"
    UNKNOWN_SUBSCRIPTION = "unknown_subscription"
    NOT_MONTHLY = "not_monthly"
    NOT_ACTIVE = "not_active"
    NOT_ANNUAL = "not_annual"
    TERM_ENDED = "term_ended"
    ALREADY_CANCELLED = "already_cancelled"
    NOT_THIS_TERM = "not_this_term"
    TERM_NOT_ENDED = "term_not_ended"
    # Billing (SPEC section 5).
    PERIOD_NOT_ENDED = "period_not_ended"
    PERIOD_NOT_CLOSED = "period_not_closed"
    # Verification codes and messages (SPEC section 7).
    NUMBERS_DO_NOT_MATCH = "numbers_do_not_match"
    OTP_SECRET_MISSING = "otp_secret_missing"  # noqa: S105 (a reason, not a secret)
    PROVIDER_REFUSED = "provider_refused"
    # One item a tick could not handle; retries that ran out on an error.
    UNPROCESSABLE_ITEM = "unprocessable_item"
    RETRIES_EXHAUSTED = "retries_exhausted"


class Refusal(Exception):
    """A well-formed event that is refused, and why; ``detail`` names what."""

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")

"""The event catalogue (SPEC section 8): every type, and the queue it travels on."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, TypeAdapter, model_validator

from events.base import Event
from events.types import Day, Identifier, Period, Phone, Text

Channel = Literal["sms", "voice"]
Locale = Literal["ja", "en"]


class Queue(StrEnum):
    LIFECYCLE = "lifecycle"
    CANCELLATIONS = "cancellations"
    BILLING = "billing"
    OTP = "otp"
    NOTIFICATIONS = "notifications"


class SubscriptionPurchased(Event):
    # _term_matches_plan, said in JSON Schema: an upstream's validator judges it too.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"plan": {"const": "annual"}}, "required": ["plan"]},
            "then": {"properties": {"term_years": {"type": "integer"}}, "required": ["term_years"]},
            "else": {"properties": {"term_years": {"type": "null"}}},
        }
    )

    type: Literal["SubscriptionPurchased"] = "SubscriptionPurchased"
    subscription_id: Identifier
    phone: Phone
    product: Text
    plan: Literal["annual", "monthly"]
    # An integer, never a boolean: strict int refuses ``true`` where Literal[1] took it.
    term_years: Annotated[int, Field(ge=1, le=3)] | None = None
    starts_on: Day
    monthly_fee_jpy: Annotated[int, Field(ge=0, le=1_000_000)]
    locale: Locale = "ja"

    @model_validator(mode="after")
    def _term_matches_plan(self) -> Self:
        if self.plan == "annual" and self.term_years is None:
            raise ValueError("term_years: required for an annual plan (1, 2 or 3)")
        if self.plan == "monthly" and self.term_years is not None:
            raise ValueError("term_years: only an annual plan has a term")
        return self


class RenewalConsentGiven(Event):
    type: Literal["RenewalConsentGiven"] = "RenewalConsentGiven"
    subscription_id: Identifier


class CancellationRequested(Event):
    type: Literal["CancellationRequested"] = "CancellationRequested"
    subscription_id: Identifier
    kind: Literal["monthly_service", "auto_renewal"]


class OtpRequested(Event):
    type: Literal["OtpRequested"] = "OtpRequested"
    phone: Phone
    channel: Channel
    resend: bool = False


class MobileNumberRegistrationSubmitted(Event):
    type: Literal["MobileNumberRegistrationSubmitted"] = "MobileNumberRegistrationSubmitted"
    phone: Phone
    phone_confirmation: Phone
    channel: Channel


class ExpiryTick(Event):
    type: Literal["ExpiryTick"] = "ExpiryTick"


class SubscriptionExpiringSoon(Event):
    type: Literal["SubscriptionExpiringSoon"] = "SubscriptionExpiringSoon"
    subscription_id: Identifier
    expires_on: Day
    days_left: Annotated[int, Field(ge=0, le=3660)]


class AnnualTermEnded(Event):
    type: Literal["AnnualTermEnded"] = "AnnualTermEnded"
    subscription_id: Identifier
    expires_on: Day


class BillingCycleClosed(Event):
    type: Literal["BillingCycleClosed"] = "BillingCycleClosed"
    period: Period


AnyEvent = Annotated[
    SubscriptionPurchased
    | RenewalConsentGiven
    | CancellationRequested
    | OtpRequested
    | MobileNumberRegistrationSubmitted
    | ExpiryTick
    | SubscriptionExpiringSoon
    | AnnualTermEnded
    | BillingCycleClosed,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)

QUEUE_OF: dict[type[Event], Queue] = {
    SubscriptionPurchased: Queue.LIFECYCLE,
    RenewalConsentGiven: Queue.LIFECYCLE,
    ExpiryTick: Queue.LIFECYCLE,
    AnnualTermEnded: Queue.LIFECYCLE,
    CancellationRequested: Queue.CANCELLATIONS,
    BillingCycleClosed: Queue.BILLING,
    OtpRequested: Queue.OTP,
    MobileNumberRegistrationSubmitted: Queue.OTP,
    SubscriptionExpiringSoon: Queue.NOTIFICATIONS,
}

EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in QUEUE_OF}


def queue_of(event: Event) -> Queue:
    return QUEUE_OF[type(event)]

"""The documented shapes of the API's answers (OpenAPI), and of the bodies
it reads where they are not events."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from events import patterns


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorItem(BaseModel):
    index: int | None = Field(default=None, description="0-based position in a batch")
    field: str
    message: str


class ProblemDocument(BaseModel):
    """RFC 9457 ``application/problem+json``."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ErrorItem] | None = None


class Accepted(BaseModel):
    event_id: str
    status: Literal["accepted", "duplicate"]


class BatchItem(BaseModel):
    index: int
    event_id: str
    status: Literal["accepted", "duplicate"]


class BatchAccepted(BaseModel):
    accepted: int
    duplicates: int
    results: list[BatchItem]


# Documented with the patterns the event schema uses (events/patterns.py);
# the routes judge them with subcycle's own readers, in its own words.
_PHONE = Field(examples=["090-1234-5678"], json_schema_extra={"pattern": patterns.PHONE})


class VerifyRequest(Strict):
    phone: str = _PHONE
    code: str = Field(examples=["123456"], json_schema_extra={"pattern": "^[0-9]{6}$"})


class StatusRequest(Strict):
    phone: str = _PHONE


class VerifyOutcome(BaseModel):
    outcome: Literal["ok", "invalid_code", "expired", "too_many_attempts", "no_active_code"]


class NumberStatus(BaseModel):
    status: Literal["code_sent", "registration_required", "rate_limited", "none"]


class HistoryItem(BaseModel):
    event_id: str
    type: str
    at: str
    outcome: str
    reason: str | None


class License(BaseModel):
    """Exactly ``subcycle license ID --json``."""

    subscription_id: str
    license_type: Literal["Annual", "Monthly", "Cancelled", "Expired"]
    phone: str
    product: str
    locale: str
    plan: Literal["annual", "monthly"]
    term_years: int | None
    starts_on: str
    expires_on: str | None
    monthly_fee_jpy: int
    auto_renewal: bool
    renewal_consent_at: str | None
    auto_renewal_cancelled_at: str | None
    monthly_started_on: str | None
    service_until: str | None
    cancelled_at: str | None
    last_billed_period: str | None
    notice: str | None
    as_of: str
    history: list[HistoryItem]


class ChargeItem(BaseModel):
    subscription_id: str
    phone: str
    period: str
    amount_jpy: int


class QueueItem(BaseModel):
    queue: str
    ready: int
    delayed: int
    in_progress: int
    dead_lettered: int
    refused: int
    oldest_ready_age_s: float | None
    workers: int = Field(description="live workers consuming this queue")


class DeadLetterItem(BaseModel):
    id: str
    queue: str
    event_id: str | None
    type: str | None
    reason: str
    detail: str
    at: str
    redis_message_id: str | None
    in_dead_letter_queue: bool
    recorded: bool
    payload: dict[str, object] | None


class LetterFilterBody(Strict):
    queue: str | None = None
    type: str | None = None
    reason: str | None = None
    event_id: str | None = None
    subscription_id: str | None = None


class BulkRequest(Strict):
    """Either ``ids``, or a ``filter`` with at least one criterion, or ``all``."""

    ids: list[str] | None = None
    filter: LetterFilterBody | None = None
    all: bool = False


class BulkItem(BaseModel):
    id: str
    outcome: str


class BulkDone(BaseModel):
    touched: int
    outcomes: dict[str, int]
    results: list[BulkItem]


class Health(BaseModel):
    status: Literal["ok"]

"""Chapter: purchases, a June cancellation, an auto-renewal cancellation, refusals."""

from __future__ import annotations

from subcycle.demo.story import Story

PHONE_A = "090-1234-5678"
PHONE_B = "080-2345-6789"


def tell(story: Story) -> None:
    story.chapter("A monthly customer cancels in June")
    story.publish(
        {
            "type": "SubscriptionPurchased",
            "occurred_at": "2026-04-01T11:00:00+09:00",
            "subscription_id": "SUB-M-1",
            "phone": PHONE_A,
            "product": "Mobile Security",
            "plan": "monthly",
            "starts_on": "2026-04-01",
            "monthly_fee_jpy": 550,
        },
        "bought the monthly product at the shop",
    )
    story.settle()
    story.license("SUB-M-1", "auto_renewal", "monthly_started_on")
    story.publish(
        {
            "type": "CancellationRequested",
            "occurred_at": "2026-06-15T20:30:00+09:00",
            "subscription_id": "SUB-M-1",
            "kind": "monthly_service",
        },
        "cancels the monthly service on the license page",
    )
    story.settle()
    story.license("SUB-M-1", "service_until", "cancelled_at")
    story.say("usable until the end of June; no cancellation notice is sent")

    story.chapter("An annual customer cancels automatic renewal")
    story.publish(
        {
            "type": "SubscriptionPurchased",
            "occurred_at": "2025-08-01T10:00:00+09:00",
            "subscription_id": "SUB-A-1",
            "phone": PHONE_B,
            "product": "Mobile Security",
            "plan": "annual",
            "term_years": 1,
            "starts_on": "2025-08-01",
            "monthly_fee_jpy": 550,
        },
        "bought the 1-year annual product at the shop",
    )
    story.publish(
        {
            "type": "RenewalConsentGiven",
            "occurred_at": "2026-07-02T09:15:00+09:00",
            "subscription_id": "SUB-A-1",
        },
        "gives renewal consent on the contract-status page",
    )
    story.publish(
        {
            "type": "CancellationRequested",
            "occurred_at": "2026-07-05T18:00:00+09:00",
            "subscription_id": "SUB-A-1",
            "kind": "auto_renewal",
        },
        "changes their mind: cancels automatic renewal",
    )
    story.settle()
    story.license("SUB-A-1", "expires_on", "auto_renewal", "notice")

    story.chapter("What is refused, and why")
    story.publish(
        {
            "type": "CancellationRequested",
            "occurred_at": "2026-07-06T10:00:00+09:00",
            "subscription_id": "SUB-A-1",
            "kind": "monthly_service",
        },
        "asks to cancel a monthly service on the annual contract",
    )
    story.settle()
    view = story.license("SUB-A-1")
    last = view["history"][-1]
    story.say(f"→ {last['type']} {last['outcome']}: {last['reason']}")
    story.publish(
        {
            "type": "CancellationRequested",
            "occurred_at": "2026-07-06T10:00:00",
            "subscription_id": "SUB-A-1",
            "kind": "auto_renewal",
        },
        "a page sends a timestamp without an offset",
    )

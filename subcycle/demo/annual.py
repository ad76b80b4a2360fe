"""Chapter: an annual contract reaches its end — the 30-day and 7-day SMS
reminders, renewal consent after the first, the switch to monthly at term
end; and a second customer who does nothing and expires."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from events import JST, ExpiryTick, normalise_phone
from events.ids import expiry_tick_id
from subcycle.demo.story import Story
from workers.gateway.outbox import OutboxGateway

RENEWS = ("SUB-A-2", "090-3456-7890")
LAPSES = ("SUB-A-3", "070-4567-8901")


class _DemoTime:
    """The demo's physical clock, moved along with the story (daytime sends)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def tell(story: Story) -> None:
    deps = story.app.deps
    restore = deps.clock
    deps.clock = clock = _DemoTime(datetime(2026, 7, 1, 10, 1, tzinfo=JST))
    try:
        _story(story, clock)
    finally:
        deps.clock = restore


def _story(story: Story, clock: _DemoTime) -> None:
    story.chapter("An annual contract reaches its end")
    for (sub, phone), locale, who in ((RENEWS, "ja", "one customer"), (LAPSES, "en", "another")):
        story.publish(
            {
                "type": "SubscriptionPurchased",
                "occurred_at": "2025-08-01T14:00:00+09:00",
                "subscription_id": sub,
                "phone": phone,
                "product": "Mobile Security",
                "plan": "annual",
                "term_years": 1,
                "starts_on": "2025-08-01",
                "monthly_fee_jpy": 550,
                "locale": locale,
            },
            f"{who} buys the 1-year annual product at the shop ({locale})",
        )
    story.settle()
    story.license(RENEWS[0], "expires_on", "auto_renewal")

    _tick(story, clock, "2026-07-01", "the daily expiry tick: 30 days before expires_on")
    story.publish(
        {
            "type": "RenewalConsentGiven",
            "occurred_at": "2026-07-03T19:30:00+09:00",
            "subscription_id": RENEWS[0],
        },
        f"{RENEWS[0]} opens the URL and enters payment information (renewal consent)",
    )
    story.settle()
    _tick(story, clock, "2026-07-24", "the daily expiry tick: 7 days before expires_on")
    story.say(f"{RENEWS[0]} gave consent: no 7-day reminder for it")
    _tick(story, clock, "2026-08-01", "the daily expiry tick the day after expires_on")
    story.license(RENEWS[0], "monthly_started_on", "auto_renewal")
    story.license(LAPSES[0], "service_until")
    story.say("doing nothing was the way not to continue; no message is sent for it")


def _tick(story: Story, clock: _DemoTime, day: str, label: str) -> None:
    at = datetime.fromisoformat(f"{day}T10:00:00+09:00")
    clock.now = at + timedelta(minutes=1)
    before = {p: len(_sms(story, p)) for _, p in (RENEWS, LAPSES)}
    story.tick(ExpiryTick(event_id=expiry_tick_id(at.date()), occurred_at=at), label)
    story.settle()
    for _, phone in (RENEWS, LAPSES):
        for row in _sms(story, phone)[before[phone] :]:
            story.say(f"[magenta]SMS to {phone}[/magenta] at {row['sent_at']}:")
            story.say(f"  {row['text']}")


def _sms(story: Story, phone: str) -> list[dict[str, Any]]:
    outbox = OutboxGateway(story.app.client, story.app.store.keys)
    rows = outbox.messages(normalise_phone(phone))
    return [r for r in rows if r["kind"] == "renewal_reminder"]

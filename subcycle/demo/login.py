"""Chapter: logging in with a verification code — by voice, two resends, the
register-mobile-number step, a fresh code by SMS, a wrong code, then ok."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from events import JST
from subcycle.demo.story import Story
from workers.gateway.outbox import OutboxGateway

PHONE = "080-2345-6789"


def _at(minute: int, second: int = 0) -> str:
    return datetime(2026, 7, 1, 11, minute, second, tzinfo=JST).isoformat()


def tell(story: Story) -> None:
    otp = story.app.deps.codes
    story.chapter("Logging in with a verification code")
    _ensure_customer(story)
    seen = len(_outbox(story))

    def request(minute: int, channel: str, resend: bool, label: str) -> None:
        nonlocal seen
        story.publish(
            {
                "type": "OtpRequested",
                "occurred_at": _at(minute),
                "phone": PHONE,
                "channel": channel,
                "resend": resend,
            },
            label,
        )
        story.settle()
        seen = _show_new_messages(story, seen)
        story.say(f"login page status: {otp.status(PHONE, story.app.deps.clock())}")

    request(52, "voice", False, "asks for a code by voice call")
    request(54, "voice", True, "the call never came: resend")
    request(55, "voice", True, "still nothing: resend again")
    request(56, "voice", True, "a third resend: nothing is sent, registration is required")

    story.publish(
        {
            "type": "MobileNumberRegistrationSubmitted",
            "occurred_at": _at(57),
            "phone": PHONE,
            "phone_confirmation": "+818023456789",  # the same number, typed another way
            "channel": "sms",
        },
        "registers the mobile number (entered twice) and asks for an SMS",
    )
    story.settle()
    seen = _show_new_messages(story, seen)
    code = _last_code(story)
    now = story.app.deps.clock()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    story.say(f"login page status: {otp.status(PHONE, now)}")
    story.say(f"enters {wrong} (a typo)  → verify: {otp.verify(PHONE, wrong, now)}")
    story.say(f"enters {code}           → verify: {otp.verify(PHONE, code, now)}")
    story.say("Redis holds only the code's random id; the code is derived again to check it")


def _ensure_customer(story: Story) -> None:
    if story.app.store.subscriptions.get("SUB-LOGIN-1") is not None:
        return
    story.publish(
        {
            "type": "SubscriptionPurchased",
            "occurred_at": "2026-05-10T15:00:00+09:00",
            "subscription_id": "SUB-LOGIN-1",
            "phone": PHONE,
            "product": "Mobile Security",
            "plan": "monthly",
            "starts_on": "2026-05-10",
            "monthly_fee_jpy": 550,
        },
        "bought the monthly product at the shop",
    )
    story.settle()


def _outbox(story: Story) -> list[dict[str, Any]]:
    return OutboxGateway(story.app.client, story.app.store.keys).messages("+818023456789")


def _show_new_messages(story: Story, seen: int) -> int:
    messages = _outbox(story)
    for message in messages[seen:]:
        text = message["text"].replace("\n", " ")
        if message["channel"] == "voice":
            # The whole script wraps badly in a terminal; its gist reads better.
            digits = "、".join(ch for ch in text if ch.isdigit())[: 6 * 2 - 1]
            text = f"the call reads {digits}, twice, then 'do not share this code'"
        story.say(f"[magenta]{message['channel']} →[/magenta] {text}")
    return len(messages)


def _last_code(story: Story) -> str:
    text = _outbox(story)[-1]["text"]
    return "".join(ch for ch in text if ch.isdigit())[:6]

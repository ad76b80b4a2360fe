"""The verification-code messages: one-segment SMS and a voice script.

A Japanese SMS is one segment only up to 70 characters (UCS-2), so the text
carries the product, the code and the warning, and never a URL (a link next
to a code is what phishing looks like).
"""

from __future__ import annotations

from typing import Literal

SMS_SEGMENT_UCS2 = 70
SMS_SEGMENT_GSM = 160

Channel = Literal["sms", "voice"]


def sms_text(product: str, code: str, locale: str) -> str:
    if locale == "en":
        text = f"{product} verification code: {code}. Do not share this code with anyone."
        limit = SMS_SEGMENT_GSM
    else:
        text = f"【{product}】認証コード：{code}\nこのコードは誰にも教えないでください。"
        limit = SMS_SEGMENT_UCS2
    if len(text) > limit:
        raise ValueError(f"product: name too long for one SMS segment ({len(text)} > {limit})")
    return text


def voice_text(product: str, code: str, locale: str) -> str:
    """The digits one by one, twice, so a listener can write them down."""
    if locale == "en":
        digits = ", ".join(code)
        return (
            f"This is {product}. Your verification code is: {digits}. "
            f"Once again: {digits}. Do not share this code with anyone."
        )
    digits = "、".join(code)
    return (
        f"{product}です。認証コードをお知らせします。{digits}。"
        f"もう一度繰り返します。{digits}。このコードは誰にも教えないでください。"
    )


def message_text(channel: Channel, product: str, code: str, locale: str) -> str:
    if channel == "sms":
        return sms_text(product, code, locale)
    return voice_text(product, code, locale)

"""The renewal reminder SMS: the expiry date and the renewal URL, per locale.

No product name: it can be 64 characters long, and the reminder must stay in
one segment whatever the product is called.
"""

from __future__ import annotations

from datetime import date

from workers.messages import fits_one_segment

# The longest a date renders in either locale, for checking a renewal URL.
LONGEST_DATE = date(2026, 12, 31)


def _ja(expires_on: date, url: str) -> str:
    day = f"{expires_on.year}年{expires_on.month}月{expires_on.day}日"
    return f"ご契約は{day}で満了します。継続のお手続きはこちら：{url}"


def _en(expires_on: date, url: str) -> str:
    day = f"{expires_on:%B} {expires_on.day}, {expires_on.year}"
    return (
        f"Your annual contract ends on {day}. To continue monthly, "
        f"add payment details at {url} - or do nothing to let it end."
    )


TEMPLATES = {"ja": _ja, "en": _en}


def renewal_reminder(locale: str, expires_on: date, renewal_url: str) -> str:
    """The reminder text; an unknown locale falls back to Japanese (the default)."""
    return TEMPLATES.get(locale, _ja)(expires_on, renewal_url)


def renewal_url_problem(renewal_url: str) -> str | None:
    """Why ``renewal_url`` cannot be used in a one-segment reminder, if it cannot."""
    if not renewal_url.startswith(("https://", "http://")):
        return "must be an http(s) URL"
    for locale in TEMPLATES:
        text = renewal_reminder(locale, LONGEST_DATE, renewal_url)
        if not fits_one_segment(text):
            return f"too long: the {locale} reminder would not fit one SMS segment"
    return None

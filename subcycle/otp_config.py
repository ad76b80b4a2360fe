"""Verification codes, wired from the settings (the composition root's part)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr

from store.otp_rules import OtpRules
from store.redis import RedisStore
from subcycle.settings import Settings
from workers.otp import Otp, OtpPolicy


def otp_policy(settings: Settings) -> OtpPolicy:
    secret = settings.otp_secret
    # model_copy(update=…) in tests and the demo does not re-validate: accept both.
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return OtpPolicy(
        secret=raw.encode() if raw else None,
        product=settings.otp_product_name,
        rules=OtpRules(
            number_limit=settings.otp_number_limit,
            number_window=timedelta(seconds=settings.otp_number_window_s),
            overall_limit=settings.otp_overall_limit,
            overall_window=timedelta(seconds=settings.otp_overall_window_s),
        ),
    )


def build_otp(settings: Settings, store: RedisStore) -> Otp:
    return Otp(store, otp_policy(settings))

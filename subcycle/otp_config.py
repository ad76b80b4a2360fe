"""Verification codes, wired from the settings (the composition root's part)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import structlog
from pydantic import SecretStr

from store.otp_rules import OtpRules
from store.redis import RedisStore
from subcycle.settings import Settings
from workers.otp import Otp, OtpPolicy

log = structlog.get_logger(__name__)


def otp_policy(settings: Settings) -> OtpPolicy:
    secret = settings.otp_secret
    # model_copy(update=…) in tests and the demo does not re-validate: accept both.
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not raw and settings.otp_secret_file:
        raw = development_secret(Path(settings.otp_secret_file).expanduser())
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


def development_secret(path: Path) -> str:
    """The machine's generated secret, made on first use; never in Redis."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    log.warning(
        "otp_secret_generated",
        path=str(path),
        hint="set SUBCYCLE_OTP_SECRET in production; this file is a development fallback",
    )
    return path.read_text().strip()


def build_otp(settings: Settings, store: RedisStore) -> Otp:
    return Otp(store, otp_policy(settings))

"""Verification codes, wired from the settings (the composition root's part)."""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

import structlog
from pydantic import SecretStr

from store.otp_rules import OtpRules
from subcycle.settings import Settings
from workers.otp import OtpPolicy

log = structlog.get_logger(__name__)


def otp_rules(settings: Settings) -> OtpRules:
    return OtpRules(
        number_limit=settings.otp_number_limit,
        number_window=timedelta(seconds=settings.otp_number_window_s),
        overall_limit=settings.otp_overall_limit,
        overall_window=timedelta(seconds=settings.otp_overall_window_s),
    )


def otp_policy(settings: Settings) -> OtpPolicy:
    secret = settings.otp_secret
    # model_copy(update=…) in tests and the demo does not re-validate: accept both.
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not raw and settings.otp_secret_file and settings.env == "development":
        raw = development_secret(Path(settings.otp_secret_file).expanduser())
    return OtpPolicy(
        secret=raw.encode() if raw else None,
        product=settings.otp_product_name,
        rules=otp_rules(settings),
    )


def development_secret(path: Path) -> str:
    """The machine's generated secret, made on first use; never in Redis.

    Written whole to a temporary file, then linked into place: a process
    reading it never sees it half written, and of two processes making it
    at once the first link wins and both use that one.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".otp-secret-")
    try:
        with os.fdopen(fd, "w") as f:  # mkstemp makes it 0600
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:  # another process made it first
            return path.read_text().strip()
    finally:
        os.unlink(temp)
    log.warning(
        "otp_secret_generated",
        path=str(path),
        hint="set SUBCYCLE_OTP_SECRET in production; this file is a development fallback",
    )
    return path.read_text().strip()

"""Verification codes for the login page: derivation, ``verify`` and ``status``.

A code is never stored. Each login attempt has a random code id; the code is
derived from it HOTP-style (RFC 4226 dynamic truncation) over
HMAC-SHA256(server secret, number ‖ 0x00 ‖ code id), so the same code can be
sent again and checked later while Redis, the queues, the dead letters and
the logs hold only the id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from events import normalise_phone
from store.base import Codes
from store.otp import Status
from store.otp_rules import OtpRules, Verdict
from workers import metrics
from workers.errors import WorkerError

MIN_SECRET_BYTES = 32


class OtpNotConfigured(WorkerError):
    """No server secret: no code can be made or checked."""

    def __init__(self) -> None:
        super().__init__(
            "otp_secret_missing: SUBCYCLE_OTP_SECRET is not set (or too short); verification codes "
            f"need a server secret of at least {MIN_SECRET_BYTES} bytes"
        )


class InvalidInput(ValueError):
    """A usage error on the login page's input; the message names the field."""


@dataclass(frozen=True)
class OtpPolicy:
    secret: bytes | None = field(default=None, repr=False)
    rules: OtpRules = field(default_factory=OtpRules)
    product: str = "Mobile Security"

    @property
    def secret_ok(self) -> bool:
        return self.secret is not None and len(self.secret) >= MIN_SECRET_BYTES

    def require_secret(self) -> bytes:
        if self.secret is None or not self.secret_ok:
            raise OtpNotConfigured()
        return self.secret


def derive_code(secret: bytes, phone: str, code_id: str) -> str:
    """The 6-digit code of ``code_id`` for ``phone`` (RFC 4226 section 5.3 truncation)."""
    mac = hmac.new(secret, phone.encode() + b"\x00" + code_id.encode(), hashlib.sha256).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{binary % 1_000_000:06d}"


def new_code_id() -> str:
    return secrets.token_hex(16)


def parse_phone(text: str) -> str:
    try:
        return normalise_phone(text)
    except ValueError as e:
        raise InvalidInput(f"phone: {e}") from None


def parse_code(text: str) -> str:
    if len(text) != 6 or not (text.isascii() and text.isdigit()):
        raise InvalidInput("code: must be exactly 6 ASCII digits")
    return text


class Otp:
    """What the login page asks synchronously; and what the OTP actor uses."""

    def __init__(self, codes: Codes, policy: OtpPolicy) -> None:
        self.codes = codes
        self.policy = policy

    def code_for(self, phone: str, code_id: str) -> str:
        return derive_code(self.policy.require_secret(), phone, code_id)

    def verify(self, phone: str, code: str, now: datetime) -> Verdict:
        """``ok | invalid_code | expired | too_many_attempts | no_active_code``.

        Bad input raises ``InvalidInput`` before anything is read or counted.
        """
        number, candidate = parse_phone(phone), parse_code(code)
        secret = self.policy.require_secret()

        def matches(code_id: str) -> bool:
            return hmac.compare_digest(derive_code(secret, number, code_id), candidate)

        verdict = self.codes.verify(number, now, matches, self.policy.rules)
        metrics.verification_outcome(verdict)
        return verdict

    def status(self, phone: str, now: datetime) -> Status:
        return self.codes.status(parse_phone(phone), now, self.policy.rules)

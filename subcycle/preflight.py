"""What a process checks before it starts (SPEC sections 11 and 14).

Production is the default (``SUBCYCLE_ENV=production``). A process that
runs actors, the scheduler or the API, or verifies codes, refuses to start
in production without a real gateway and a real secret: the outbox keeps
codes in Redis, a plain http:// provider can be read on the wire, and a
secret generated per host makes one host's codes fail on another.
"""

from __future__ import annotations

from pydantic import SecretStr

from subcycle.settings import Settings
from workers.otp import MIN_SECRET_BYTES


class NotReady(Exception):
    """Settings this process cannot start with; each problem names its variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def production_problems(settings: Settings) -> list[str]:
    if settings.env != "production":
        return []
    problems = []
    hint = "(SUBCYCLE_ENV=production, the default; SUBCYCLE_ENV=development for local work)"
    if settings.gateway != "http":
        problems.append(
            "SUBCYCLE_GATEWAY: must be http in production; the outbox keeps codes in Redis " + hint
        )
    if not (settings.gateway_url or "").startswith("https://"):
        problems.append("SUBCYCLE_GATEWAY_URL: must be an https:// URL in production " + hint)
    secret = settings.otp_secret
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else (secret or "")
    if len(raw.encode()) < MIN_SECRET_BYTES:
        problems.append(
            f"SUBCYCLE_OTP_SECRET: must be set to at least {MIN_SECRET_BYTES} bytes in production "
            + hint
        )
    return problems


def require_ready(settings: Settings) -> None:
    """Raise ``NotReady`` when this process must not start with ``settings``."""
    problems = production_problems(settings)
    if problems:
        raise NotReady(problems)

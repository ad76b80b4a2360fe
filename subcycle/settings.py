"""Settings from the environment (``SUBCYCLE_*``); secrets never have defaults
that production could run with."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from subcycle.annual_config import (
    DEFAULT_URL,
    DEFAULT_WINDOW,
    DaytimeWindow,
    GatewayUrl,
    ReminderOffsets,
    RenewalUrl,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUBCYCLE_", extra="ignore")

    # production (the default) or development: the outbox gateway, a plain
    # http:// provider and the generated secret exist only in development
    # (subcycle/preflight.py says what production requires).
    env: Literal["production", "development"] = "production"
    # May hold a password: printed only through store.connection.redact.
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", repr=False)
    # Start-up checks of the Redis server in production (subcycle/preflight.py:
    # no Cluster, maxmemory-policy noeviction, what SUBCYCLE_DURABILITY needs);
    # "skip" where you have checked it yourself.
    redis_checks: Literal["on", "skip"] = "on"
    # What an acknowledged publish (CLI exit 0, HTTP 202) promises: memory,
    # fsync (the primary's AOF on disk) or replica (WAIT 1), and how long a
    # publish waits for it (subcycle/durability.py).
    durability: Literal["memory", "fsync", "replica"] = "memory"
    durability_timeout_ms: int = Field(default=1_000, ge=1, le=60_000)
    key_prefix: str = "subcycle:"
    queue_namespace: str = "subcycle"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    # Worker recovery: see README "Delivery and recovery".
    heartbeat_timeout_ms: int = Field(default=15_000, ge=1_000)
    maintenance_chance: int = Field(default=20_000, ge=1, le=1_000_000)
    worker_timeout_ms: int = Field(default=100, ge=5, le=10_000)

    unknown_subscription_retries: int = Field(default=5, ge=0, le=20)
    unknown_subscription_backoff_ms: int = Field(default=250, ge=10)

    # The scheduler (docs/billing.md): the daily expiry tick's JST time, the
    # first month closed on the very first start (default: the previous one),
    # the lease that keeps one replica active, how late a tick may still fire.
    scheduler_expiry_time: str = Field(default="10:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    scheduler_first_period: str | None = Field(default=None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    scheduler_lease_ttl_ms: int = Field(default=30_000, ge=500)
    scheduler_misfire_grace_s: int = Field(default=6 * 3_600, ge=1)
    # Tests and development only: fire both ticks every N seconds instead of
    # on their cron schedules.
    scheduler_interval_s: float | None = Field(default=None, gt=0)

    # Annual contract (docs/annual.md): reminder offsets in days before
    # expires_on ("30,7"), the renewal URL in the SMS, the JST daytime window.
    reminder_offsets_days: ReminderOffsets = (30, 7)
    renewal_url: RenewalUrl = DEFAULT_URL
    reminder_daytime: DaytimeWindow = DEFAULT_WINDOW
    # The message gateway: outbox (development) or http (the provider).
    gateway: Literal["outbox", "http"] = "outbox"
    gateway_url: GatewayUrl = None
    gateway_token: SecretStr | None = None
    gateway_timeout_s: float = Field(default=5.0, gt=0, le=60)

    otp_secret: SecretStr | None = None
    # Development only, when SUBCYCLE_OTP_SECRET is unset: a random secret
    # made once in this file (mode 0600) and shared by the processes of one
    # machine. Set it to "" to forbid the fallback in development too.
    otp_secret_file: str | None = "~/.local/state/subcycle/otp-secret"  # noqa: S105 (a path)
    # Verification codes (docs/otp.md): the SMS brand name, send limits against
    # SMS pumping, and how often idle OTP-only workers poll.
    otp_product_name: str = Field(default="Mobile Security", min_length=1, max_length=20)
    otp_number_limit: int = Field(default=10, ge=1)
    otp_number_window_s: int = Field(default=3_600, ge=1)
    otp_overall_limit: int = Field(default=600, ge=1)
    otp_overall_window_s: int = Field(default=60, ge=1)
    otp_worker_timeout_ms: int = Field(default=10, ge=1, le=10_000)

    # How long refused events are kept (dead-letters list); older ones are
    # dropped as new ones come in, and `dead-letters purge --older-than` acts
    # at once.
    refused_retention_days: int = Field(default=90, ge=1, le=3_650)

    @property
    def expiry_at(self) -> time:
        """When the daily expiry tick fires, JST (``scheduler_expiry_time``)."""
        hour, minute = (int(x) for x in self.scheduler_expiry_time.split(":"))
        return time(hour, minute)

"""What each ``subcycle api`` worker process builds when it starts: the
settings from the environment (checked for production, as every serving
process is), the store and the services, and the app."""

from __future__ import annotations

import redis
from fastapi import FastAPI

from api.app import create_app
from api.services import Services
from store.connection import connect
from subcycle import logs
from subcycle.bootstrap import core
from subcycle.preflight import require_ready
from subcycle.settings import Settings


def services_from_environment() -> Services:
    settings = Settings()
    require_ready(settings)  # `subcycle api` said so before; a worker started by hand too
    client: redis.Redis = connect(settings.redis_url)
    return Services.of(core(settings, client=client))


def app_factory() -> FastAPI:
    """For uvicorn (``factory=True``): one app per worker process."""
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    return create_app()

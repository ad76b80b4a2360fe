"""One suite, two backends: every ``app`` test runs on fakeredis and on a real
Redis. Real-Redis cases skip when no server answers, except in CI
(``SUBCYCLE_REQUIRE_REDIS=1``), where they fail instead."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

import fakeredis
import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from events import JST
from subcycle.bootstrap import App, build
from subcycle.settings import Settings
from tests.browser_support import REACHED_BROWSER, REQUIRE_BROWSER

REAL_REDIS_URL = os.environ.get("SUBCYCLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("SUBCYCLE_REQUIRE_REDIS") == "1"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# The tests that reached the real server, whichever fixture or helper got them there.
_REACHED_REAL_REDIS: set[str] = set()


def real_redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REAL_REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as e:
        if REQUIRE_REDIS:
            pytest.fail(f"real Redis required (SUBCYCLE_REQUIRE_REDIS=1) but {REAL_REDIS_URL}: {e}")
        pytest.skip(f"no Redis at {REAL_REDIS_URL}")
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    _REACHED_REAL_REDIS.add(current.rsplit(" (", 1)[0])
    return client


def delete_prefixed(client: redis.Redis, *prefixes: str) -> None:
    """Delete every key under ``prefixes``, streaming (benchmarks leave millions)."""
    for prefix in prefixes:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=10_000):
            batch.append(key)
            if len(batch) >= 10_000:
                client.unlink(*batch)
                batch = []
        if batch:
            client.unlink(*batch)


@pytest.fixture(autouse=True)
def development(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run in development (the outbox, a local fake provider); the
    production checks have tests of their own that say production."""
    monkeypatch.setenv("SUBCYCLE_ENV", "development")


@pytest.fixture(params=["fakeredis", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def client(backend: str, unique: str) -> Iterator[redis.Redis]:
    if backend == "fakeredis":
        yield fakeredis.FakeRedis(server=fakeredis.FakeServer())
        return
    real = real_redis_or_skip()
    yield real
    delete_prefixed(real, f"t{unique}:", f"tq{unique}:")


@pytest.fixture
def real_redis(unique: str) -> Iterator[redis.Redis]:
    """The real Redis, for tests that only it can serve (other processes);
    this test's keys (prefix ``t{unique}:``, namespace ``tq{unique}``) are
    deleted afterwards."""
    client = real_redis_or_skip()
    yield client
    delete_prefixed(client, f"t{unique}:", f"tq{unique}:")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, unique: str, real_redis: redis.Redis) -> redis.Redis:
    """The environment a CLI command sees: the real Redis under this test's own
    prefix and namespace (the embedded Redis serves only the demo)."""
    for key, value in {
        "SUBCYCLE_REDIS_URL": REAL_REDIS_URL,
        "SUBCYCLE_KEY_PREFIX": f"t{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"tq{unique}",
        "SUBCYCLE_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(key, value)
    return real_redis


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 7, 1, 12, 0, tzinfo=JST))


@pytest.fixture
def settings(unique: str) -> Settings:
    return Settings(
        env="development",
        redis_url="redis://unused",
        key_prefix=f"t{unique}:",
        queue_namespace=f"tq{unique}",
        unknown_subscription_retries=2,
        unknown_subscription_backoff_ms=20,
        otp_secret_file=None,
    )


@pytest.fixture
def make_app(client: redis.Redis, settings: Settings, clock: Clock) -> Callable[..., App]:
    def make(**overrides: object) -> App:
        return build(settings.model_copy(update=overrides), client=client, clock=clock)

    return make


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()


@pytest.fixture
def http(app: App) -> Iterator[TestClient]:
    """A real HTTP client over the API's ASGI app, on the test's app."""
    with TestClient(create_app(Services.of(app.core)), raise_server_exceptions=False) as client:
        yield client


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a run in which no real-Redis test, or no browser test, passed
    is a failed run."""
    if exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    passed = {r.nodeid for r in (reporter.stats.get("passed", []) if reporter else [])}
    for required, reached, what in (
        (REQUIRE_REDIS, _REACHED_REAL_REDIS, "SUBCYCLE_REQUIRE_REDIS=1 but no real-Redis test"),
        (REQUIRE_BROWSER, REACHED_BROWSER, "SUBCYCLE_REQUIRE_BROWSER=1 but no browser test"),
    ):
        if required and not passed & reached:
            session.exitstatus = 1
            if reporter:
                reporter.write_line(f"FAILED: {what} passed")

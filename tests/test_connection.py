"""Every URL form of SPEC section 14 reaches Redis through store/connection.py,
and no URL's password is ever printed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from redis.sentinel import SentinelConnectionPool

from store.connection import (
    BadRedisUrl,
    connect,
    parse_sentinel_url,
    redact,
    retry_policy,
)
from subcycle.cli import main
from tests.processes import env_for, start_worker, stop, wait_for
from tests.redis_servers import Server, servers, start  # noqa: F401 (fixture)
from workers.transport.coalesce import Coalescer


def test_a_sentinel_url_names_its_sentinels_service_and_database() -> None:
    parsed = parse_sentinel_url(
        "redis+sentinel://app:s%40cret@10.0.0.1:26379,10.0.0.2:26380/mymaster/3"
    )
    assert parsed.sentinels == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    assert parsed.service == "mymaster"
    assert parsed.db == 3
    assert parsed.primary == {"username": "app", "password": "s@cret"}
    assert not parsed.tls
    # The primary's password is not the sentinels'.
    assert "password" not in parsed.sentinel


def test_a_sentinel_url_without_a_database_is_database_0_and_a_port_defaults() -> None:
    parsed = parse_sentinel_url("redis+sentinel://sentinel-a,sentinel-b:5000/svc")
    assert parsed.sentinels == [("sentinel-a", 26379), ("sentinel-b", 5000)]
    assert parsed.db == 0
    assert parsed.primary == {}


def test_the_sentinels_own_auth_and_tls_come_from_the_query() -> None:
    parsed = parse_sentinel_url(
        "rediss+sentinel://:pw@h:1/svc/2?sentinel_password=sp&ssl_ca_certs=/ca.pem&socket_timeout=3"
    )
    assert parsed.tls
    assert parsed.primary == {"password": "pw", "ssl_ca_certs": "/ca.pem", "socket_timeout": 3.0}
    assert parsed.sentinel["password"] == "sp"
    assert parsed.sentinel["ssl"] is True
    assert parsed.sentinel["ssl_ca_certs"] == "/ca.pem"
    assert parsed.sentinel["socket_timeout"] == 3.0


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://u:topsecret@h:1", "/SERVICE or /SERVICE/DB"),
        ("redis+sentinel://u:topsecret@h:1/svc/x", "database must be a number"),
        ("redis+sentinel://u:topsecret@h:port/svc", "is not host:port"),
        ("redis+sentinel://u:topsecret@h:1/svc?sslca=1", "unknown query parameter 'sslca'"),
        ("redis://u:topsecret@h:1/0?ssl_cert_req=none", "unknown query parameter"),
        ("redis://u:topsecret@h:1/0?socket_timeout=soon", "bad value for 'socket_timeout'"),
        ("http://u:topsecret@h:1/0", "a Redis URL starts with redis://"),
    ],
)
def test_a_bad_url_is_refused_at_once_without_its_password(url: str, says: str) -> None:
    with pytest.raises(BadRedisUrl) as refused:
        connect(url)
    assert says in str(refused.value)
    assert "topsecret" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://u:pw@h:1/0", "redis://u:***@h:1/0"),
        ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
        ("redis://pw@h/0", "redis://***@h/0"),
        (
            "rediss://u:p%40w@h:1/0?ssl_ca_certs=/ca.pem",
            "rediss://u:***@h:1/0?ssl_ca_certs=/ca.pem",
        ),
        (
            "redis+sentinel://u:pw@a:1,b:2/svc/1?sentinel_password=sp&socket_timeout=1",
            "redis+sentinel://u:***@a:1,b:2/svc/1?sentinel_password=***&socket_timeout=1",
        ),
        ("redis://h:1/0?password=pw", "redis://h:1/0?password=***"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_redact_hides_every_password_and_keeps_the_rest(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_redis_and_rediss_urls_carry_acl_users_and_tls_options() -> None:
    client = connect("rediss://app:pw@h:6380/2?ssl_ca_certs=/ca.pem&ssl_cert_reqs=required")
    options = client.connection_pool.connection_kwargs
    assert (options["host"], options["port"], options["db"]) == ("h", 6380, 2)
    assert (options["username"], options["password"]) == ("app", "pw")
    assert options["ssl_ca_certs"] == "/ca.pem"
    assert client.connection_pool.connection_class is redis.SSLConnection
    assert options["retry"].get_retries() == retry_policy().get_retries()


def test_a_sentinel_url_gives_a_sentinel_managed_client() -> None:
    client = connect("redis+sentinel://u:pw@127.0.0.1:1/svc/4")
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "svc"
    assert pool.connection_kwargs["db"] == 4
    assert pool.connection_kwargs["password"] == "pw"
    # The coalescer's own connection (workers/transport/coalesce.py) is sentinel-managed too.
    assert type(pool.make_connection()).__name__ == "SentinelManagedConnection"


def test_a_wrong_password_is_not_retried() -> None:
    attempts = []

    def refused() -> None:
        attempts.append(1)
        raise redis.AuthenticationError("invalid username-password pair")

    started = time.monotonic()
    with pytest.raises(redis.AuthenticationError):
        retry_policy().call_with_retry(refused, lambda _: None)
    assert attempts == [1]
    assert time.monotonic() - started < 0.5


def test_a_lost_connection_is_retried_with_back_off() -> None:
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise redis.ConnectionError("Connection reset by peer")
        return "ok"

    assert retry_policy().call_with_retry(flaky, lambda _: None) == "ok"
    assert len(attempts) == 3


def test_a_client_through_sentinel_reads_and_writes_the_primary(
    servers: list[Server],  # noqa: F811 (fixture)
    tmp_path: Path,
) -> None:
    # Given a primary with an ACL user and a sentinel that monitors it
    primary = start(
        servers,
        tmp_path / "primary",
        "--user",
        "default",
        "off",
        "--user",
        "app",
        "on",
        ">app-pass",
        "~*",
        "&*",
        "+@all",
    )
    sentinel = start(
        servers,
        tmp_path / "sentinel",
        f"sentinel monitor svc 127.0.0.1 {primary.port} 1",
        "sentinel down-after-milliseconds svc 1000",
        "sentinel auth-user svc app",
        "sentinel auth-pass svc app-pass",
        sentinel=True,
    )
    # When a client connects through the redis+sentinel:// URL
    client = connect(f"redis+sentinel://app:app-pass@127.0.0.1:{sentinel.port}/svc/5")
    client.set("through-sentinel", "yes")
    # Then it wrote the primary, in the database the URL named
    on_primary = primary.client(username="app", password="app-pass", db=5)
    assert on_primary.get("through-sentinel") == b"yes"
    assert client.get("through-sentinel") == b"yes"
    assert client.connection_pool.get_master_address() == ("127.0.0.1", primary.port)
    # and so do the coalesced round trips, on their own connection
    Coalescer(client).run(lambda pipe: pipe.set("coalesced", "yes"))
    assert on_primary.get("coalesced") == b"yes"


def test_a_client_through_sentinel_follows_a_failover_by_itself(
    servers: list[Server],  # noqa: F811 (fixture)
    tmp_path: Path,
) -> None:
    # Given a primary, its replica, and a sentinel quick to promote
    primary = start(servers, tmp_path / "primary")
    replica = start(servers, tmp_path / "replica", "--replicaof", "127.0.0.1", str(primary.port))
    wait_for(lambda: replica.client().info("replication")["master_link_status"] == "up", 20)
    sentinel = start(
        servers,
        tmp_path / "sentinel",
        f"sentinel monitor svc 127.0.0.1 {primary.port} 1",
        "sentinel down-after-milliseconds svc 300",
        "sentinel failover-timeout svc 2000",
        sentinel=True,
    )
    wait_for(lambda: bool(sentinel.client().sentinel_slaves("svc")), 20)
    client = connect(f"redis+sentinel://127.0.0.1:{sentinel.port}/svc/0")
    client.set("before", "1")
    coalesced = Coalescer(client)
    coalesced.run(lambda pipe: pipe.set("coalesced", "1"))
    wait_for(lambda: replica.client().get("before") == b"1", 10)
    # When the primary is killed
    primary.kill()
    started = time.monotonic()
    # Then the same client writes again once the replica is promoted, by itself
    wait_for(lambda: bool(client.set("after", "2")), 30, poll=0.1)
    elapsed = time.monotonic() - started
    assert client.connection_pool.get_master_address() == ("127.0.0.1", replica.port)
    assert replica.client().get("after") == b"2"
    assert replica.client().get("before") == b"1"
    wait_for(lambda: bool(coalesced.run(lambda pipe: pipe.set("coalesced", "2"))), 30, poll=0.1)
    assert replica.client().get("coalesced") == b"2"
    assert elapsed < 30


@pytest.mark.parametrize(
    "url",
    [
        "redis://u:topsecret@127.0.0.1:1/0",
        "rediss://u:topsecret@127.0.0.1:1/0?ssl_ca_certs=/ca.pem",
        "redis+sentinel://u:topsecret@127.0.0.1:1/svc?sentinel_password=topsecret",
    ],
)
def test_no_client_shows_its_password_in_a_repr_or_a_connection_error(url: str) -> None:
    client = connect(url)
    for shown in (repr(client), repr(client.connection_pool), repr(client.pipeline())):
        assert "topsecret" not in shown
    with pytest.raises(redis.ConnectionError) as failed:
        client.ping()
    assert "topsecret" not in str(failed.value)


def test_a_worker_process_on_a_sentinel_url_handles_what_is_published(
    servers: list[Server],  # noqa: F811 (fixture)
    tmp_path: Path,
    unique: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primary = start(servers, tmp_path / "primary")
    sentinel = start(
        servers,
        tmp_path / "sentinel",
        f"sentinel monitor svc 127.0.0.1 {primary.port} 1",
        sentinel=True,
    )
    url = f"redis+sentinel://127.0.0.1:{sentinel.port}/svc/0"
    env = env_for(unique, url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    events = tmp_path / "e.jsonl"
    events.write_text(
        '{"type":"SubscriptionPurchased","event_id":"pos-1","occurred_at":"2026-04-01T10:00:00+09:00",'
        '"subscription_id":"SUB-1","phone":"090-1234-5678","product":"Mobile Security",'
        '"plan":"monthly","starts_on":"2026-04-01","monthly_fee_jpy":550}\n'
    )
    assert main(["publish", str(events)]) == 0
    worker = start_worker(env | {"SUBCYCLE_OTP_SECRET_FILE": ""}, log=tmp_path / "worker.log")
    try:
        wait_for(lambda: main(["license", "SUB-1"]) == 0, 30, poll=0.2)
    finally:
        stop(worker)
    assert "Monthly" in capsys.readouterr().out

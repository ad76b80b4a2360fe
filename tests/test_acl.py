"""The shipped ACL users hold (SPEC section 14, least privilege): on a
redis-server started with deploy/redis/users.acl, each role works with only
its own user, the operator view cannot write and the API cannot run the
workers' scripts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr
from redis.exceptions import NoPermissionError

from api.app import create_app
from api.services import Services
from scheduler.lease import Lease
from store.connection import connect
from store.keys import Keys
from store.ledger import RedisLedger
from subcycle.bootstrap import build, core
from subcycle.settings import Settings
from tests.acl_support import USERS, Rendered, render_acl, run, run_story
from tests.api_support import bearer, key_for
from tests.redis_servers import Server, servers, start  # noqa: F401 (fixture)


@pytest.fixture
def acl_server(
    servers: list[Server],  # noqa: F811
    tmp_path: Path,
) -> tuple[Server, Rendered]:
    rendered = render_acl(tmp_path)
    server = Server(tmp_path / "redis", "--aclfile", str(rendered.path))
    servers.append(server)
    server.start(
        ping=redis.Redis(port=server.port, username="admin", password=rendered.passwords["admin"])
    )
    return server, rendered


@pytest.fixture
def as_role(
    acl_server: tuple[Server, Rendered], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], None]:
    server, rendered = acl_server
    monkeypatch.setenv("SUBCYCLE_LOG_LEVEL", "WARNING")

    def use(role: str) -> None:
        monkeypatch.setenv(
            "SUBCYCLE_REDIS_URL", f"redis://{rendered.userinfo(role)}@127.0.0.1:{server.port}/0"
        )

    return use


def role_client(acl_server: tuple[Server, Rendered], role: str) -> redis.Redis:
    server, rendered = acl_server
    return connect(f"redis://{rendered.userinfo(role)}@127.0.0.1:{server.port}/0")


def test_the_default_user_is_off(acl_server: tuple[Server, Rendered]) -> None:
    server, _ = acl_server
    with pytest.raises(redis.AuthenticationError):
        server.client().ping()


def test_each_role_runs_its_part_of_the_story_with_only_its_user(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    as_role: Callable[[str], None],
    acl_server: tuple[Server, Rendered],
) -> None:
    run_story(tmp_path, capsys, as_role)
    # The console's month totals are a read-only script the API user may run
    for role in ("api", "operator"):
        assert RedisLedger(role_client(acl_server, role), Keys()).totals("2026-06") == (1, 550)


def test_the_worker_user_alone_runs_the_whole_story(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_role: Callable[[str], None]
) -> None:
    run_story(tmp_path, capsys, lambda _: as_role("worker"), verifier="worker")


def test_the_worker_user_holds_the_scheduler_lease(acl_server: tuple[Server, Rendered]) -> None:
    key = Keys().scheduler_lease
    lease = Lease(role_client(acl_server, "worker"), key, "scheduler-a", 5_000)
    assert lease.hold()
    assert lease.holder_now() == "scheduler-a"
    lease.release()
    with pytest.raises(NoPermissionError):
        Lease(role_client(acl_server, "api"), key, "scheduler-b", 5_000).hold()


def test_the_operator_view_reads_queues_and_dead_letters_but_cannot_write(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    as_role: Callable[[str], None],
    acl_server: tuple[Server, Rendered],
) -> None:
    events = tmp_path / "one.jsonl"
    events.write_text(
        '{"type":"RenewalConsentGiven","event_id":"csp-1",'
        '"occurred_at":"2026-07-02T09:15:00+09:00","subscription_id":"SUB-9"}\n'
    )
    as_role("api")
    run(["publish", str(events)], capsys)
    as_role("operator")
    out, _ = run(["queues", "--json"], capsys)
    assert {q["queue"]: q["ready"] for q in json.loads(out)}["lifecycle"] == 1
    out, _ = run(["dead-letters", "list", "--json"], capsys)
    assert json.loads(out) == []
    # Writes are refused, by the CLI in one line and by Redis to the client
    _, err = run(["publish", str(events)], capsys, code=1)
    assert "Redis refused this user" in err
    assert "Traceback" not in err
    operator = role_client(acl_server, "operator")
    with pytest.raises(NoPermissionError):
        operator.set("subcycle:sub:{SUB-9}", "forged")
    with pytest.raises(NoPermissionError):
        operator.delete("subcycle:lifecycle")
    with pytest.raises(NoPermissionError):
        operator.flushdb()
    # A read-only script it runs may read (EVAL_RO); a write inside one is refused
    assert operator.eval_ro("return redis.call('llen', KEYS[1])", 1, "subcycle:lifecycle") == 1
    with pytest.raises(redis.exceptions.ResponseError, match="can't run this command"):
        operator.eval_ro("return redis.call('del', KEYS[1])", 1, "subcycle:lifecycle")
    # and a script that may write cannot name its keys
    with pytest.raises(NoPermissionError):
        operator.eval("return redis.call('del', KEYS[1])", 1, "subcycle:lifecycle")
    assert role_client(acl_server, "admin").llen("subcycle:lifecycle") == 1


def test_the_api_user_publishes_but_cannot_run_the_workers_scripts(
    acl_server: tuple[Server, Rendered], settings: Settings
) -> None:
    default = settings.model_copy(update={"key_prefix": "subcycle:", "queue_namespace": "subcycle"})
    api = build(default, client=role_client(acl_server, "api"))
    # A worker's fetch writes its ack set and heartbeat: refused
    with pytest.raises(NoPermissionError):
        api.broker.coalesced_fetch("lifecycle", 10)
    # A worker's commit writes a subscription: refused
    with pytest.raises(NoPermissionError):
        api.client.eval("return redis.call('hset', KEYS[1], 'f', 'v')", 1, "subcycle:sub:{S}")
    # Nor may it mint an API key or open the lease
    with pytest.raises(NoPermissionError):
        api.client.hset("subcycle:apikeys", "forged", "x")
    with pytest.raises(NoPermissionError):
        api.client.set("subcycle:scheduler:lease", "me")
    admin = role_client(acl_server, "admin")
    assert admin.exists("subcycle:__heartbeats__") == 0


def test_the_users_file_holds_no_password_and_names_every_role() -> None:
    text = (Path(__file__).resolve().parent.parent / "deploy/redis/users.acl").read_text()
    for user in USERS.values():
        assert f"user {user} on #{{{{" in text
    rules = [line for line in text.splitlines() if line.startswith("user ")]
    assert len(rules) == len(USERS) + 1  # and the default user, off
    assert not any(">" in rule or "nopass" in rule for rule in rules)


def test_the_http_api_serves_with_only_the_api_user(
    acl_server: tuple[Server, Rendered], settings: Settings
) -> None:
    default = settings.model_copy(
        update={
            "key_prefix": "subcycle:",
            "queue_namespace": "subcycle",
            "otp_secret": SecretStr("s" * 32),
        }
    )
    # Keys are made by an administrator (api-keys create), used by the API
    admin = build(default, client=role_client(acl_server, "admin"))
    key = key_for(admin, "pos", "events:*", "otp", "operator")
    served = core(default, client=role_client(acl_server, "api"))
    with TestClient(create_app(Services.of(served)), raise_server_exceptions=False) as http:
        headers = {"content-type": "application/json"} | bearer(key)
        consent = (
            '{"type":"RenewalConsentGiven","event_id":"csp-1",'
            '"occurred_at":"2026-07-02T09:15:00+09:00","subscription_id":"SUB-9"}'
        )
        assert http.post("/v1/events", content=consent, headers=headers).status_code == 202
        status = http.post("/v1/otp/status", content='{"phone":"090-1234-5678"}', headers=headers)
        assert (status.status_code, status.json()) == (200, {"status": "none"})
        verify = http.post(
            "/v1/otp/verify", content='{"phone":"090-1234-5678","code":"123456"}', headers=headers
        )
        assert (verify.status_code, verify.json()) == (200, {"outcome": "no_active_code"})
    assert role_client(acl_server, "admin").llen("subcycle:lifecycle") == 1

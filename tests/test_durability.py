"""SUBCYCLE_DURABILITY (SPEC section 14): what an acknowledged publish — CLI
exit 0, HTTP 202 — promises, proven on servers this test starts."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from events import parse_upstream
from store.keys import Keys
from subcycle.bootstrap import build, core
from subcycle.cli import main
from subcycle.durability import confirmer
from subcycle.settings import Settings
from tests.acl_support import lines
from tests.api_support import bearer, key_for
from tests.processes import wait_for
from tests.redis_servers import Server, servers, start  # noqa: F401 (fixture)
from workers.publisher import NotDurable
from workers.transport.enqueue import Confirm


def consent(n: int) -> dict[str, object]:
    return {
        "type": "RenewalConsentGiven",
        "event_id": f"csp-{n}",
        "occurred_at": "2026-07-02T09:15:00+09:00",
        "subscription_id": f"SUB-{n}",
    }


def test_memory_waits_for_nothing_and_replica_waits_for_one_replica() -> None:
    client = fakeredis.FakeRedis()
    assert confirmer(Settings(durability="memory"), client) is None
    replica = confirmer(Settings(durability="replica", durability_timeout_ms=250), client)
    assert replica is not None
    assert replica() == Confirm(("WAIT", 1, 250), "a replica's copy")


def test_fsync_uses_waitaof_only_where_the_server_has_it() -> None:
    # fakeredis answers no INFO: no WAITAOF, so appendfsync always (checked at start)
    fsync = confirmer(Settings(durability="fsync"), fakeredis.FakeRedis())
    assert fsync is not None
    assert fsync() is None


@pytest.mark.parametrize(
    ("command", "reply", "ok"),
    [
        (("WAIT", 1, 100), 1, True),
        (("WAIT", 1, 100), 0, False),
        (("WAIT", 1, 100), 2, True),
        (("WAITAOF", 1, 0, 100), [1, 0], True),
        (("WAITAOF", 1, 0, 100), [0, 0], False),
    ],
)
def test_a_confirmation_counts_what_the_server_answered(
    command: tuple[str | int, ...], reply: object, ok: bool
) -> None:
    assert Confirm(command, "x").confirmed(reply) is ok


@pytest.fixture
def pair(
    servers: list[Server],  # noqa: F811
    tmp_path: Path,
) -> tuple[Server, Server]:
    primary = start(servers, tmp_path / "primary")
    replica = start(servers, tmp_path / "replica", "--replicaof", "127.0.0.1", str(primary.port))
    wait_for(lambda: replica.client().info("replication")["master_link_status"] == "up", 20)
    return primary, replica


def publish_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: int, mode: str, *events: int
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(lines(*(consent(n) for n in events)))
    monkeypatch.setenv("SUBCYCLE_REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("SUBCYCLE_DURABILITY", mode)
    monkeypatch.setenv("SUBCYCLE_DURABILITY_TIMEOUT_MS", "300")
    monkeypatch.setenv("SUBCYCLE_LOG_LEVEL", "WARNING")


def test_replica_acknowledges_once_the_replica_has_it_and_fails_without_one(
    pair: tuple[Server, Server],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    primary, replica = pair
    publish_cli(tmp_path, monkeypatch, primary.port, "replica", 1, 2)
    assert main(["publish", str(tmp_path / "events.jsonl")]) == 0
    assert replica.client().hexists(*Keys().claim("csp-1"))
    capsys.readouterr()

    # Given the replica stopped (SIGSTOP: connected, but it confirms nothing)
    assert replica.proc is not None
    replica.proc.send_signal(signal.SIGSTOP)
    try:
        publish_cli(tmp_path, monkeypatch, primary.port, "replica", 3)
        assert main(["publish", str(tmp_path / "events.jsonl")]) == 1
        err = capsys.readouterr().err
        [line] = err.strip().splitlines()
        assert "a replica's copy not confirmed within 300 ms" in line
        assert "safe to publish again" in line
        assert "Traceback" not in err
    finally:
        replica.proc.send_signal(signal.SIGCONT)
    # Then publishing again is safe: the event is there once
    assert main(["publish", str(tmp_path / "events.jsonl")]) == 0
    assert "0 event(s); 1 duplicate(s)" in capsys.readouterr().out


def test_the_api_answers_503_with_retry_after_when_no_replica_confirms(
    pair: tuple[Server, Server], settings: Settings
) -> None:
    primary, replica = pair
    client = primary.client()
    app = build(settings.model_copy(update={"durability": "replica"}), client=client)
    wired = core(app.settings.model_copy(update={"durability_timeout_ms": 300}), client=client)
    key = key_for(app, "pos", "events:*")
    with TestClient(create_app(Services.of(wired)), raise_server_exceptions=False) as http:
        body = json.dumps(consent(1))
        headers = {"content-type": "application/json"} | bearer(key)
        assert http.post("/v1/events", content=body, headers=headers).status_code == 202
        assert replica.proc is not None
        replica.proc.send_signal(signal.SIGSTOP)
        try:
            for path, sent in (
                ("/v1/events", json.dumps(consent(2))),
                ("/v1/events/batch", json.dumps([consent(3), consent(4)])),
            ):
                answer = http.post(path, content=sent, headers=headers)
                assert answer.status_code == 503
                assert answer.headers["retry-after"] == "1"
                assert answer.json()["type"] == "/problems/not_durable"
                assert "safe to publish again" in answer.json()["detail"]
        finally:
            replica.proc.send_signal(signal.SIGCONT)


def test_fsync_refuses_a_server_without_appendfsync_always(
    servers: list[Server],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lax = start(servers, tmp_path / "lax", "--appendonly", "yes", "--appendfsync", "everysec")
    publish_cli(tmp_path, monkeypatch, lax.port, "fsync", 1)
    assert main(["publish", str(tmp_path / "events.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "appendonly yes and appendfsync everysec" in err
    assert "set appendonly yes and appendfsync always" in err
    assert lax.client().dbsize() == 0

    strict = start(servers, tmp_path / "strict", "--appendonly", "yes", "--appendfsync", "always")
    publish_cli(tmp_path, monkeypatch, strict.port, "fsync", 1)
    assert main(["publish", str(tmp_path / "events.jsonl")]) == 0


def test_an_fsync_acknowledged_event_survives_a_sigkill_at_once(
    servers: list[Server],  # noqa: F811
    tmp_path: Path,
    settings: Settings,
) -> None:
    """Each publish, then SIGKILL the moment it returns, then a restart from
    the AOF: every acknowledged event is there (bench/durable_ack.py does
    the same at length, for each mode)."""
    server = start(servers, tmp_path / "aof", "--appendonly", "yes", "--appendfsync", "always")
    durable = settings.model_copy(update={"durability": "fsync"})
    for n in range(1, 6):
        app = build(durable, client=server.client())
        assert app.publisher.publish([parse_upstream(consent(n))]).enqueued == 1
        server.kill(signal.SIGKILL)
        server.start()
    check: Callable[[int], int] = lambda n: int(  # noqa: E731
        server.client().hexists(*app.store.keys.claim(f"csp-{n}"))
    )
    assert [check(n) for n in range(1, 6)] == [1] * 5


def test_a_failed_confirmation_is_not_durable_error_from_the_publisher(
    pair: tuple[Server, Server], settings: Settings
) -> None:
    primary, replica = pair
    app = build(
        settings.model_copy(update={"durability": "replica", "durability_timeout_ms": 200}),
        client=primary.client(),
    )
    assert replica.proc is not None
    replica.proc.send_signal(signal.SIGSTOP)
    try:
        with pytest.raises(NotDurable):
            app.publisher.publish([parse_upstream(consent(7))])
    finally:
        replica.proc.send_signal(signal.SIGCONT)
    # Not confirmed is not undone: it may be stored; a republish skips it
    assert app.publisher.publish([parse_upstream(consent(7))]).duplicates == 1
    assert isinstance(primary.client(), redis.Redis)


class _Server72:
    """A stand-in for a Redis 7.2 server, which has WAITAOF."""

    def __init__(self, aof: bool) -> None:
        self.aof = aof

    def info(self, section: str) -> dict[str, object]:
        return {
            "server": {"redis_version": "7.2.4"},
            "persistence": {"aof_enabled": int(self.aof)},
        }[section]


def test_where_the_server_has_waitaof_fsync_waits_for_it_and_needs_an_aof() -> None:
    from subcycle.durability import fsync_problems

    with_aof: Any = _Server72(aof=True)
    fsync = confirmer(Settings(durability="fsync", durability_timeout_ms=500), with_aof)
    assert fsync is not None
    assert fsync() == Confirm(("WAITAOF", 1, 0, 500), "the primary's fsync")
    assert fsync_problems(with_aof, "Redis at x") == []
    [problem] = fsync_problems(_Server72(aof=False), "Redis at x")  # type: ignore[arg-type]
    assert "appendonly no" in problem

"""A production process checks the Redis server it connected to (SPEC
section 14): no Redis Cluster, maxmemory-policy noeviction, each refusal a
line that says what to change; a server that hides CONFIG is said and
passed; SUBCYCLE_REDIS_CHECKS=skip skips the checks."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest
import redis

from subcycle.cli import main
from subcycle.preflight import check_redis
from subcycle.settings import Settings
from tests.redis_servers import Server, cluster_port, servers, start  # noqa: F401 (fixture)

EVENT = (
    '{"type":"RenewalConsentGiven","event_id":"csp-1",'
    '"occurred_at":"2026-07-02T09:15:00+09:00","subscription_id":"SUB-2"}\n'
)


def production(**overrides: object) -> Settings:
    return Settings(env="production", redis_url="redis://app:s3cret@h:1/0", **overrides)  # type: ignore[arg-type]


def test_a_server_that_refuses_info_and_config_is_said_and_passed() -> None:
    # fakeredis has neither INFO nor CONFIG, as a managed service may not
    found = check_redis(fakeredis.FakeRedis(), production())
    assert found.problems == []
    assert any("maxmemory-policy was not checked" in note for note in found.notes)
    assert any("Cluster was not ruled out" in note for note in found.notes)
    assert all("SUBCYCLE_REDIS_CHECKS=skip" in note for note in found.notes)
    assert not any("s3cret" in note for note in found.notes)


def test_skip_and_development_check_nothing() -> None:
    assert check_redis(fakeredis.FakeRedis(), production(redis_checks="skip")).notes == []
    development = Settings(env="development", redis_url="redis://h:1/0")
    assert check_redis(fakeredis.FakeRedis(), development).notes == []


class OldServer:
    """A Redis 6.0 as INFO describes it; it refuses CONFIG, as a managed one may."""

    def info(self, section: str) -> dict[str, str]:
        return {"redis_version": "6.0.16"} if section == "server" else {}

    def config_get(self, pattern: str) -> dict[str, str]:
        raise redis.ResponseError("unknown command 'CONFIG'")


@pytest.mark.parametrize("env", ["production", "development"])
def test_a_server_older_than_the_scripts_need_is_refused_in_every_mode(env: str) -> None:
    found = check_redis(OldServer(), Settings(env=env, redis_url="redis://h:1/0"))  # type: ignore[arg-type]
    assert found.problems == [
        "Redis at redis://h:1/0 is Redis 6.0.16: subcycle needs 6.2 or later (a worker's "
        "fetch pops many ids at once with LPOP's count, a month's close copies buckets with "
        "COPY); upgrade the server"
    ]


def test_a_noeviction_server_passes(servers: list[Server], tmp_path: Path) -> None:  # noqa: F811
    server = start(servers, tmp_path / "ok", "--maxmemory-policy", "noeviction")
    found = check_redis(server.client(), production())
    assert found == type(found)()


def test_an_evicting_server_is_refused_saying_what_to_change(
    servers: list[Server],  # noqa: F811
    tmp_path: Path,
) -> None:
    server = start(servers, tmp_path / "lru", "--maxmemory-policy", "allkeys-lru")
    [problem] = check_redis(server.client(), production()).problems
    assert "maxmemory-policy allkeys-lru" in problem
    assert "set maxmemory-policy noeviction" in problem
    assert "s3cret" not in problem
    assert "app:***@h:1" in problem


def test_an_acl_user_without_config_reads_the_policy_from_info(
    servers: list[Server],  # noqa: F811
    tmp_path: Path,
) -> None:
    server = start(
        servers,
        tmp_path / "acl",
        "--maxmemory-policy",
        "volatile-lru",
        "--user",
        "app",
        "on",
        ">pw",
        "~*",
        "+@all",
        "-config",
    )
    found = check_redis(server.client(username="app", password="pw"), production())
    assert ["volatile-lru" in p for p in found.problems] == [True]


def test_a_cluster_node_is_refused(servers: list[Server], tmp_path: Path) -> None:  # noqa: F811
    server = start(servers, tmp_path / "cluster", "--cluster-enabled", "yes", port=cluster_port())
    [problem] = check_redis(server.client(), production()).problems
    assert "Redis Cluster" in problem
    assert "standalone primary" in problem


def test_publish_in_production_refuses_an_evicting_server_in_one_line(
    servers: list[Server],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = start(servers, tmp_path / "lru", "--maxmemory-policy", "allkeys-lfu")
    events = tmp_path / "events.jsonl"
    events.write_text(EVENT)
    monkeypatch.setenv("SUBCYCLE_ENV", "production")
    monkeypatch.setenv("SUBCYCLE_REDIS_URL", f"redis://127.0.0.1:{server.port}/0")
    assert main(["publish", str(events)]) == 1
    err = capsys.readouterr().err
    assert "maxmemory-policy allkeys-lfu" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert server.client().dbsize() == 0  # nothing was enqueued

    monkeypatch.setenv("SUBCYCLE_REDIS_CHECKS", "skip")
    assert main(["publish", str(events)]) == 0

"""TLS and ACL users together (SPEC section 14): a redis-server that speaks
TLS only, with certificates this test makes and the shipped ACL users; the
whole story runs through ``rediss://user:password@…?ssl_ca_certs=…``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.acl_support import USERS, Rendered, render_acl, run_story
from tests.processes import run_command
from tests.redis_servers import Server, Tls, make_tls, servers  # noqa: F401 (fixture)


@pytest.fixture
def tls_server(
    servers: list[Server],  # noqa: F811
    tmp_path: Path,
) -> tuple[Server, Rendered, Tls]:
    rendered = render_acl(tmp_path)
    tls = make_tls(tmp_path / "tls")
    server = Server(tmp_path / "redis", "--aclfile", str(rendered.path), tls=tls)
    servers.append(server)
    admin = redis.Redis(
        port=server.port,
        ssl=True,
        ssl_ca_certs=str(tls.ca),
        username="admin",
        password=rendered.passwords["admin"],
    )
    server.start(ping=admin)
    return server, rendered, tls


def url_of(tls_server: tuple[Server, Rendered, Tls], userinfo: str) -> str:
    server, _, tls = tls_server
    return f"rediss://{userinfo}@127.0.0.1:{server.port}/0?ssl_ca_certs={tls.ca}"


def test_the_whole_story_runs_over_tls_with_each_roles_acl_user(
    tls_server: tuple[Server, Rendered, Tls],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, rendered, _ = tls_server
    monkeypatch.setenv("SUBCYCLE_LOG_LEVEL", "WARNING")
    as_role: Callable[[str], None] = lambda role: monkeypatch.setenv(  # noqa: E731
        "SUBCYCLE_REDIS_URL", url_of(tls_server, rendered.userinfo(role))
    )
    run_story(tmp_path, capsys, as_role)


def test_the_plain_port_is_closed(tls_server: tuple[Server, Rendered, Tls]) -> None:
    server, rendered, _ = tls_server
    plain = redis.Redis(port=server.port, username="admin", password=rendered.passwords["admin"])
    with pytest.raises(redis.ConnectionError):
        plain.ping()


def test_a_wrong_password_is_one_clear_line_and_exit_1(
    tls_server: tuple[Server, Rendered, Tls],
) -> None:
    url = url_of(tls_server, f"{USERS['worker']}:not-the-password")
    env = {**os.environ, "SUBCYCLE_ENV": "development", "SUBCYCLE_REDIS_URL": url}
    done = run_command([sys.executable, "-m", "subcycle.cli", "license", "SUB-1"], env)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "refused the user and password" in line
    assert "not-the-password" not in line
    assert f"{USERS['worker']}:***@127.0.0.1" in line
    assert "Traceback" not in done.stderr

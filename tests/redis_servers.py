"""redis-server processes a test starts for itself: on free loopback ports,
in the test's own tmp directory, always stopped afterwards.

They skip where no ``redis-server`` is installed (a laptop) and fail in CI
(``SUBCYCLE_REQUIRE_REDIS=1``), as the shared real-Redis tests do
(tests/conftest.py). Each server that answers counts as a real-Redis test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.conftest import _REACHED_REAL_REDIS, REQUIRE_REDIS
from tests.processes import free_port


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        if REQUIRE_REDIS:
            pytest.fail("redis-server required (SUBCYCLE_REQUIRE_REDIS=1) but not installed")
        pytest.skip("redis-server is not installed")
    return found


def _reached() -> None:
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    _REACHED_REAL_REDIS.add(current.rsplit(" (", 1)[0])


class Server:
    """One redis-server (or sentinel) process with its own port and directory."""

    def __init__(
        self, directory: Path, *args: str, sentinel: bool = False, tls: Tls | None = None
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.args = list(args)
        self.sentinel = sentinel
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def start(self, *, ping: redis.Redis | None = None, timeout: float = 20) -> Server:
        binary = redis_server_binary()
        if self.sentinel:
            conf = self.directory / "sentinel.conf"
            if not conf.exists():
                conf.write_text("\n".join(self.args) + "\n")
            argv = [binary, str(conf), "--sentinel", "--port", str(self.port)]
        elif self.tls is not None:  # TLS only: the plain port is closed
            argv = [binary, "--port", "0", "--tls-port", str(self.port), *self.tls.server_args()]
            argv += self.args
        else:
            argv = [binary, "--port", str(self.port), *self.args]
        argv += ["--bind", "127.0.0.1", "--dir", str(self.directory)]
        argv += ["--logfile", str(self.log), "--save", ""]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = ping if ping is not None else redis.Redis(port=self.port)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                break
            except redis.AuthenticationError:
                break  # it answers; the caller's user is another
            except (redis.ConnectionError, redis.TimeoutError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = self.log.read_text() if self.log.exists() else ""
                    raise RuntimeError(f"redis-server did not start: {log[-2000:]}") from None
                time.sleep(0.05)
        _reached()
        return self

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def client(self, **options: object) -> redis.Redis:
        return redis.Redis(port=self.port, **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Tls:
    """A CA and a server certificate for 127.0.0.1, made with openssl for one test."""

    ca: Path
    cert: Path
    key: Path

    def server_args(self) -> list[str]:
        return [
            "--tls-cert-file",
            str(self.cert),
            "--tls-key-file",
            str(self.key),
            "--tls-ca-cert-file",
            str(self.ca),
            "--tls-auth-clients",
            "no",
        ]


def make_tls(directory: Path) -> Tls:
    openssl = shutil.which("openssl")
    if openssl is None:
        if REQUIRE_REDIS:
            pytest.fail("openssl required (SUBCYCLE_REQUIRE_REDIS=1) but not installed")
        pytest.skip("openssl is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.crt", directory / "ca.key"
    cert, key, csr = directory / "server.crt", directory / "server.key", directory / "server.csr"
    san = directory / "san.cnf"
    san.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ca_subject, server_subject = "/CN=subcycle-test-ca", "/CN=127.0.0.1"
    for argv in (
        [
            *f"req -x509 -newkey rsa:2048 -nodes -keyout {ca_key} -out {ca} -days 2".split(),
            "-subj",
            ca_subject,
        ],
        [*f"req -newkey rsa:2048 -nodes -keyout {key} -out {csr}".split(), "-subj", server_subject],
        f"x509 -req -in {csr} -CA {ca} -CAkey {ca_key} -CAcreateserial -days 2".split()
        + f"-out {cert} -extfile {san}".split(),
    ):
        subprocess.run([openssl, *map(str, argv)], check=True, capture_output=True)
    return Tls(ca, cert, key)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers the test adds to the list are killed when it ends, whatever happens."""
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def cluster_port() -> int:
    """A free port a cluster node can use: its bus listens 10,000 above it."""
    while True:
        port = free_port()
        if port <= 55_535:
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + 10_000))
                except OSError:
                    continue
            return port


def start(
    servers: list[Server],
    directory: Path,
    *args: str,
    sentinel: bool = False,
    port: int | None = None,
    **kw: object,
) -> Server:
    server = Server(directory, *args, sentinel=sentinel)
    if port is not None:
        server.port = port
    servers.append(server)
    return server.start(**kw)  # type: ignore[arg-type]

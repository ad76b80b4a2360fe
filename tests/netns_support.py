"""Hosts as network namespaces: a Redis host and worker hosts, each worker
host joined to the Redis host by a veth pair of its own, so that one host's
link can be cut (``ip link set … down`` inside its namespace) while the
others carry on.

Every address lives inside namespaces made here (10.231.N.0/24, one subnet
per link); nothing is added to, or changed in, the namespace this process
runs in. The controller (a test, a bench) reaches the Redis host through the
server's unix socket, which a network namespace does not fence off, so it
watches Redis without any link of its own. ``Network.close`` ends every
process started in the namespaces and deletes them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.processes import end, wait_for

SUBNET = "10.231"


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _tc(namespace: str, verb: str, link: str) -> None:
    argv = ["ip", "netns", "exec", namespace, "tc", "qdisc", verb, "dev", link, "root"]
    done = subprocess.run(
        [*argv, "blackhole"] if verb == "add" else argv, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"tc qdisc {verb} on {link} in {namespace}: {done.stderr.strip()}")


def netns_refusal() -> str | None:
    """Why network namespaces cannot be made here (not root, no ``ip``), or None."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    probe = f"scp{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return f"ip netns add: {done.stderr.strip() or done.returncode}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


@dataclass
class Host:
    """A worker host: its namespace, its end of the link, the address it
    dials, and the Redis host's end of the same link."""

    namespace: str
    address: str
    redis_address: str
    redis_namespace: str
    redis_link: str
    link: str = "eth0"
    cut_at: str | None = None

    def cut(self, where: str = "host") -> None:
        """Nothing in or out; the processes keep running.

        ``host``: its own link set down, so its kernel fails its sockets at
        once (network unreachable). ``redis``: the far end set down (its
        carrier goes, its neighbour entries fail: no route to host within
        seconds). ``silent``: both ends drop every packet they send (a
        ``blackhole`` qdisc), as when the path dies beyond a switch: nothing
        fails, the sockets just hear nothing.
        """
        if where == "silent":
            _tc(self.namespace, "add", self.link)
            _tc(self.redis_namespace, "add", self.redis_link)
        elif where == "host":
            _ip("-n", self.namespace, "link", "set", self.link, "down")
        elif where == "redis":
            _ip("-n", self.redis_namespace, "link", "set", self.redis_link, "down")
        else:
            raise ValueError(f"cut where: host, redis or silent, not {where!r}")
        self.cut_at = where

    def restore(self) -> None:
        if self.cut_at == "silent":
            _tc(self.namespace, "del", self.link)
            _tc(self.redis_namespace, "del", self.redis_link)
        elif self.cut_at == "host":
            _ip("-n", self.namespace, "link", "set", self.link, "up")
        elif self.cut_at == "redis":
            _ip("-n", self.redis_namespace, "link", "set", self.redis_link, "up")
        self.cut_at = None


@dataclass
class Network:
    """``workers`` worker hosts and a Redis host (see the module doc)."""

    workers: int
    directory: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    hosts: list[Host] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    made: list[str] = field(default_factory=list)
    port: int = 6379  # the Redis host's own namespace: nothing else listens there

    @property
    def redis_namespace(self) -> str:
        return f"sc{self.tag}r"

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def control_url(self) -> str:
        """The controller's way in (the unix socket), database 0."""
        return f"unix://{self.socket}?db=0"

    def url_for(self, host: Host) -> str:
        return f"redis://{host.redis_address}:{self.port}/0"

    def start(self) -> Network:
        r = self.redis_namespace
        self._add(r)
        for n in range(1, self.workers + 1):
            ns = f"sc{self.tag}w{n}"
            self._add(ns)
            near, far = f"{SUBNET}.{n}.1", f"{SUBNET}.{n}.2"
            # Made inside the Redis host, its peer straight inside the worker host.
            _ip(
                "-n", r, "link", "add", f"w{n}", "type", "veth", "peer", "name", "eth0", "netns", ns
            )
            _ip("-n", r, "addr", "add", f"{near}/24", "dev", f"w{n}")
            _ip("-n", r, "link", "set", f"w{n}", "up")
            _ip("-n", ns, "addr", "add", f"{far}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            self.hosts.append(Host(ns, far, near, r, f"w{n}"))
        return self

    def _add(self, namespace: str) -> None:
        _ip("netns", "add", namespace)
        self.made.append(namespace)
        _ip("-n", namespace, "link", "set", "lo", "up")

    def spawn(
        self,
        namespace: str,
        argv: list[str],
        env: dict[str, str],
        log: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """``argv`` inside ``namespace``, in a process group of its own."""
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *argv],
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def start_redis(self, *extra: str) -> redis.Redis:
        """redis-server on the Redis host, on every link address and the unix
        socket; returns the controller's client."""
        server = shutil.which("redis-server") or "redis-server"
        binds = [h.redis_address for h in self.hosts]
        argv = [server, "--port", str(self.port), "--bind", *binds, "--protected-mode", "no"]
        argv += ["--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        argv += ["--dir", str(self.directory), "--save", "", "--appendonly", "no"]
        argv += ["--maxmemory-policy", "noeviction", *extra]
        self.spawn(self.redis_namespace, argv, dict(os.environ), self.directory / "redis.log")
        client = redis.Redis.from_url(self.control_url)
        wait_for(lambda: self.socket.exists() and bool(client.ping()), 20)
        return client

    def close(self) -> None:
        for proc in reversed(self.procs):  # the workers before their Redis
            end(proc)
        for namespace in reversed(self.made):
            # Anything still inside was started here (by one of ours).
            found = subprocess.run(
                ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False
            )
            for pid in found.stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        self.made.clear()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

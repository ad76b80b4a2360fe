"""A Sentinel-managed Redis on loopback: one primary, one replica, three
sentinels, each a redis-server (tests/redis_servers.py) on a free port with
a config and a directory of its own, all stopped by ``close``.

Sentinels judge the primary down after ``down_after_ms`` without a reply
and fail over with a quorum of 2; the service is ``mymaster`` and clients
find it with ``url`` (``redis+sentinel://…/mymaster/0``, store/connection.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tests.processes import wait_for
from tests.redis_servers import Server

SERVICE = "mymaster"


@dataclass
class Sentinels:
    directory: Path
    down_after_ms: int = 1_000
    failover_timeout_ms: int = 3_000
    servers: list[Server] = field(default_factory=list)
    primary: Server | None = None
    replica: Server | None = None
    sentinels: list[Server] = field(default_factory=list)

    def start(self, *extra: str) -> Sentinels:
        """``extra``: redis-server options for both data servers (AOF, …)."""
        data = ["--maxmemory-policy", "noeviction", "--appendonly", "no", *extra]
        self.primary = self._start(Server(self.directory / "primary", *data))
        replica_of = ["--replicaof", "127.0.0.1", str(self.primary.port)]
        self.replica = self._start(Server(self.directory / "replica", *data, *replica_of))
        wait_for(lambda: _info(self.replica, "master_link_status") == "up", 20)
        for n in range(3):
            conf = [
                "port 0",  # the command line's --port wins
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2",
                f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}",
                f"sentinel failover-timeout {SERVICE} {self.failover_timeout_ms}",
                f"sentinel parallel-syncs {SERVICE} 1",
            ]
            server = Server(self.directory / f"sentinel{n}", *conf, sentinel=True)
            self.sentinels.append(self._start(server))
        # Ready when every sentinel knows the replica and the two other sentinels.
        wait_for(lambda: all(self._ready(s) for s in self.sentinels), 30, 0.1)
        return self

    def _start(self, server: Server) -> Server:
        self.servers.append(server)
        return server.start()

    def _ready(self, sentinel: Server) -> bool:
        master: Any = sentinel.client(decode_responses=True).sentinel_master(SERVICE)
        return int(master["num-other-sentinels"]) == 2 and int(master["num-slaves"]) == 1

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def primary_port(self) -> int:
        """The primary's port as the sentinels answer it now."""
        client = self.sentinels[0].client(decode_responses=True)
        address: Any = client.sentinel_get_master_addr_by_name(SERVICE)  # (host, port)
        return int(address[1])

    def kill_primary(self) -> float:
        """SIGKILL the primary; returns time.monotonic() of the kill."""
        assert self.primary is not None
        self.primary.kill()
        return time.monotonic()

    def bring_back_empty(self, server: Server) -> None:
        """Restart a killed data server, empty, as an operator brings back a
        host that lost its data: never electable before it has synced
        (``replica-priority 0``). Electable, a second failover (a false
        "down" of the new primary on a loaded machine) can choose it, and
        the server holding the data then resyncs from it: every key lost,
        seen once in ``tests/test_failover.py``."""
        if "--replica-priority" not in server.args:
            server.args += ["--replica-priority", "0"]
        server.start()

    def wait_promoted(self, timeout: float = 60) -> float:
        """Seconds until the replica answers as the primary and the sentinels name it."""
        assert self.replica is not None
        replica = self.replica
        return wait_for(
            lambda: self.primary_port() == replica.port and _info(replica, "role") == "master",
            timeout,
            0.05,
        )

    def current(self) -> redis.Redis:
        """A plain client of the primary now (for the controller's own counts)."""
        return redis.Redis(port=self.primary_port())

    def close(self) -> None:
        for server in reversed(self.servers):
            server.kill()

    def __enter__(self) -> Sentinels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _info(server: Server | None, key: str) -> str:
    assert server is not None
    return str(server.client(decode_responses=True).info("replication").get(key, ""))

"""What a worker process holds of its own ack sets, so that what it does not
hold can be given back.

A fetch moves a message's id into the worker's ack set in Redis; only the
worker that holds the message in memory ever acks it, and maintenance
requeues an ack set only when its worker is dead. So an id in a live
worker's ack set that the worker does not hold waits there for as long as
the worker lives. That happens when memory and Redis part:

- a fetch ran but its reply was lost with the connection;
- Dramatiq restarted a consumer after an outage, dropping the messages it
  had fetched but not handed out and the delayed ones it kept in memory;
- a failover: the replica, now the primary, had the fetch but not the ack,
  or not the commit that settled the message (replication is
  asynchronous; what would keep a run of ``tests/test_failover.py`` from
  ever settling, as one did once in CI).

``Holdings`` is what the process holds, by queue and Redis message id: taken
when a fetch returns, let go when the message is acked, nacked, moved aside
or requeued. A delayed message is held only until its eta: by then the
worker has moved it on, unless a consumer restart dropped it.
``Orphans`` names the ids of the worker's ack sets it has not held for a
whole grace period (the heartbeat timeout: no sooner than a dead worker's
messages come back), for ``recovery.reclaim`` to requeue.

An ack that met an outage leaves its message *in doubt*: the change it
acknowledges may have died with a primary that failed over (replication
is asynchronous) while the retried ack would be taken by the new one. The
consumer requeues a message in doubt instead of acking it.

Requeueing one that was still being handled, or whose change did survive,
only runs it twice: every actor is idempotent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

# Queue name (a delay queue's own, as in its ack set's key), Redis message id.
Held = tuple[str, str]


class Holdings:
    def __init__(self) -> None:
        self._until: dict[Held, float] = {}
        self._lock = threading.Lock()
        self._doubted: set[Held] = set()

    def take(self, queue: str, rids: Iterable[str]) -> None:
        """Fetched: held until let go."""
        with self._lock:
            for rid in rids:
                self._until[(queue, rid)] = float("inf")

    def hold_until(self, queue: str, rid: str, eta_ms: float) -> None:
        """A delayed message: held until its eta at most."""
        with self._lock:
            if (queue, rid) in self._until:
                self._until[(queue, rid)] = eta_ms

    def let_go(self, queue: str, rids: Iterable[str]) -> None:
        with self._lock:
            for rid in rids:
                self._until.pop((queue, rid), None)
                self._doubted.discard((queue, rid))

    def doubt(self, queue: str, rid: str) -> None:
        """Its ack met an outage: requeue it rather than ack it."""
        with self._lock:
            self._doubted.add((queue, rid))

    def in_doubt(self, queue: str, rid: str) -> bool:
        with self._lock:
            return (queue, rid) in self._doubted

    def held(self, now_ms: float) -> set[Held]:
        with self._lock:
            return {key for key, until in self._until.items() if now_ms < until}


class Orphans:
    """Ids in a worker's ack sets that it does not hold, and since when."""

    def __init__(self, grace_ms: int) -> None:
        self.grace_ms = grace_ms
        self._since: dict[Held, float] = {}

    def due(
        self, in_ack_sets: Mapping[str, Iterable[str]], held: set[Held], now_ms: float
    ) -> dict[str, list[str]]:
        """By queue, the ids not held at any look for at least ``grace_ms``.

        Read ``in_ack_sets`` before ``held``: an id whose fetch reply is
        still on its way then shows as not held for a moment, which the
        grace covers, and never the other way round."""
        orphans = {(q, rid) for q, rids in in_ack_sets.items() for rid in rids} - held
        self._since = {key: self._since.get(key, now_ms) for key in orphans}
        due: dict[str, list[str]] = {}
        for (queue, rid), since in sorted(self._since.items()):
            if now_ms - since >= self.grace_ms:
                due.setdefault(queue, []).append(rid)
        for queue, rids in due.items():
            for rid in rids:
                del self._since[(queue, rid)]
        return due

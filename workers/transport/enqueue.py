"""Enqueueing messages with claims, a batch per script call
(``scripts/publish.lua``): each message goes onto its queue exactly where
Dramatiq's broker keeps it, only if its claim was free, so a crash never
leaves an id claimed without its message (or the reverse). One call per
batch is what lets a publish pass Dramatiq's one-script-call-per-send
ceiling (bench/throughput.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from typing import Any

import redis

from workers.transport import encoding
from workers.transport.keys import QueueKeys, dq_name

_SCRIPT = (resources.files("workers.transport") / "scripts" / "publish.lua").read_text()


class Enqueued(IntEnum):
    ENQUEUED = 1
    DUPLICATE = 0  # claimed before with the same fingerprint
    REUSED = -1  # claimed before with another fingerprint


@dataclass(frozen=True)
class Outgoing:
    """One message to send to ``actor`` on ``queue``, with its claim."""

    queue: str
    actor: str
    argument_json: str
    claim_key: str
    claim_field: str
    fingerprint: str
    claim_ttl_ms: int = 0  # 0: the claim lives as long as its record


class NotDurable(Exception):
    """The server did not confirm the durability asked for in time: the batch
    may or may not be stored, and is safe to publish again (claims make a
    republish skip what is there)."""


@dataclass(frozen=True)
class Confirm:
    """What an acknowledged batch waits for after its script, on the same
    connection (WAIT and WAITAOF count that connection's writes):
    ``WAIT replicas timeout`` or ``WAITAOF local replicas timeout``."""

    command: tuple[str | int, ...]
    what: str  # said when it fails: "a replica's copy", "the primary's fsync"

    def confirmed(self, reply: Any) -> bool:
        wanted = [int(n) for n in self.command[1:-1]]
        got = [int(n) for n in (reply if isinstance(reply, list) else [reply])]
        return len(got) == len(wanted) and all(g >= w for g, w in zip(got, wanted, strict=True))


class Enqueuer:
    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        done_mark: str,
        *,
        encode: encoding.Encoder = encoding.encode,
        message_ids: Callable[[int], list[str]] = encoding.message_ids,
    ) -> None:
        self._client = client
        self._keys = QueueKeys(namespace)
        self._done_mark = done_mark
        self._encode = encode
        self._message_ids = message_ids
        self._script = client.register_script(_SCRIPT)

    def prepare(self, batch: list[Outgoing], delay_ms: int | None = None) -> Prepared:
        """Encode a batch (this is the publishing hot path; see ``encoding``)."""
        now_ms = int(time.time() * 1000)
        eta = now_ms + delay_ms if delay_ms else None
        queues: dict[str, int] = {}  # queue name -> its j in the script
        claims: list[str] = []
        args: list[str | bytes] = []
        for item, rid in zip(batch, self._message_ids(len(batch)), strict=True):
            queue = item.queue if eta is None else dq_name(item.queue)
            body = self._encode(queue, item.actor, item.argument_json, rid, now_ms, eta)
            j = queues.setdefault(queue, len(queues) + 1)
            claims.append(item.claim_key)
            args += [str(j), item.claim_field, item.fingerprint, rid, body, str(item.claim_ttl_ms)]
        keys = [k for q in queues for k in (self._keys.ready(q), self._keys.messages(q))]
        return Prepared(keys + claims, [str(len(queues)), self._done_mark, *args])

    def send(self, prepared: Prepared, confirm: Confirm | None = None) -> list[Enqueued]:
        """Run the batch; with ``confirm``, its WAIT/WAITAOF goes in the same
        pipeline, so on the same connection (retried together after a lost
        connection), and ``NotDurable`` when it was not confirmed. A batch
        run again on a new connection finds what the first run stored as
        duplicates: WAIT then covers only the new connection's own writes."""
        if confirm is None:
            answers = self._script(keys=prepared.keys, args=prepared.args)
            return [Enqueued(int(a)) for a in answers]
        with self._client.pipeline(transaction=False) as pipe:
            self._script(keys=prepared.keys, args=prepared.args, client=pipe)
            pipe.execute_command(*confirm.command)  # type: ignore[no-untyped-call]
            answers, reply = pipe.execute()
        if not confirm.confirmed(reply):
            raise NotDurable(f"{confirm.what} not confirmed within {confirm.command[-1]} ms")
        return [Enqueued(int(a)) for a in answers]


@dataclass(frozen=True)
class Prepared:
    keys: list[str]
    args: list[str | bytes]

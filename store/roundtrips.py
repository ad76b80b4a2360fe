"""The store's port to Redis round trips: batches of commands, each batch
sent at once and answered with its own replies in order.

``Pipelined`` is the plain way (one redis-py pipeline per batch). A worker
process uses the transport's ``Coalescer`` instead (workers/transport/
coalesce.py), which sends the batches of concurrent threads in one round
trip; tests/test_coalesce.py proves both give every batch the same replies.
A batch must be safe to run twice: a script missing from the server (after
a restart or a failover) is loaded and the batch run again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

import redis
from redis.exceptions import NoScriptError

Queue = Callable[[Any], object]  # queues a batch's commands on the pipeline it is given


class Script:
    """A Lua script run by its SHA-1 inside a batch."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 (Redis names scripts by SHA-1)

    def queue(self, pipe: Any, keys: list[str], args: list[Any]) -> None:
        pipe.evalsha(self.sha, len(keys), *keys, *args)


class RoundTrips(Protocol):
    def script(self, text: str) -> Script: ...

    def run(self, queue: Queue) -> list[Any]:
        """Send the batch ``queue`` records, return its replies in order;
        raise the first error among them (the others still ran)."""
        ...


class Pipelined:
    """One redis-py pipeline per batch: the plain twin of the coalescer."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._scripts: dict[str, Script] = {}

    def script(self, text: str) -> Script:
        script = Script(text)
        self._scripts[script.sha] = script
        return script

    def run(self, queue: Queue) -> list[Any]:
        for attempt in (1, 2):
            with self._client.pipeline(transaction=False) as pipe:
                queue(pipe)
                replies: list[Any] = pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(r, NoScriptError) for r in replies):
                for script in self._scripts.values():
                    self._client.script_load(script.text)
                continue
            error = next((r for r in replies if isinstance(r, Exception)), None)
            if error is not None:
                raise error
            return replies
        raise AssertionError("unreachable")  # pragma: no cover

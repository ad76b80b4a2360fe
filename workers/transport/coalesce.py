"""Group commit: the Redis commands of concurrent threads in one round trip
(the fast ``store.roundtrips.RoundTrips``; ``Pipelined`` is its plain twin).

A Dramatiq worker runs its messages on several threads, and each message
needs a few small Redis calls (read a record, commit a change, ack). On a
busy worker most of their cost is the round trip itself, the system calls on
both sides, not the work. A thread hands its commands to ``Coalescer.run``;
whichever thread finds no flush in progress sends every batch waiting at that
moment in one pipeline, and each thread gets back its own replies. An idle
worker pays nothing extra (a lone batch goes out at once, as before); a busy
one sends one round trip for many messages.

Each batch keeps its own meaning: its replies are its own, a command that
fails fails only its batch, and scripts go by ``EVALSHA`` without redis-py's
extra ``SCRIPT EXISTS`` round trip (a missing script is loaded and the batch
run again, so a batch must be safe to run twice; every caller's is).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import hiredis
import redis
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.exceptions import NoScriptError, ResponseError

from store.roundtrips import Queue, Script

# Options redis-py's parse_response consumes itself, never passed to a callback.
_NOT_FOR_CALLBACKS = frozenset({NEVER_DECODE, EMPTY_RESPONSE, "keys"})


def _pack(args: tuple[Any, ...]) -> bytes:
    packed: bytes = hiredis.pack_command(args)
    return packed


class _Batch:
    __slots__ = ("done", "error", "queue", "replies", "wake")

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.replies: list[Any] = []
        self.error: BaseException | None = None
        self.done = False
        # Held until this batch is done, or its thread is to lead the next flush.
        self.wake = threading.Lock()
        self.wake.acquire()


class Coalescer:
    """Runs the command batches of concurrent threads together (see module doc).

    Leader and followers: a thread that finds no flush in progress leads one,
    sending every batch waiting then; the others wait, each on its own batch.
    When the round trip is back the leader wakes every thread whose batch it
    carried, and hands the lead to the first batch that came in meanwhile. So
    a thread whose batch is done returns at once, never behind the next
    round trip, and one round trip at a time is in flight per process.
    """

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._scripts: dict[str, Script] = {}
        self._lock = threading.Lock()
        self._waiting: list[_Batch] = []
        self._flushing = False
        self._conn: Any = None
        self._conn_pid = 0

    def script(self, text: str) -> Script:
        script = Script(text)
        self._scripts[script.sha] = script
        return script

    def run(self, queue: Queue) -> list[Any]:
        """Queue a batch, see it sent, return its replies in order.

        Raises the first error among its replies (the others still ran), or
        the error that stopped the round trip.
        """
        batch = _Batch(queue)
        with self._lock:
            self._waiting.append(batch)
            follow, self._flushing = self._flushing, True
        if follow:
            batch.wake.acquire()  # done, or the lead is ours
        if not batch.done:
            self._lead(batch)
        if batch.error is not None:
            raise batch.error
        return batch.replies

    def _lead(self, mine: _Batch) -> None:
        with self._lock:
            batches, self._waiting = self._waiting, []
        try:
            self._flush(batches)
        finally:
            for batch in batches:
                if batch is not mine:
                    batch.wake.release()
            with self._lock:
                if self._waiting:
                    self._waiting[0].wake.release()  # the next leader
                else:
                    self._flushing = False

    def _flush(self, batches: list[_Batch]) -> None:
        try:
            retry = self._send(batches)
            if retry:
                self._load_scripts()
                for batch in self._send(retry):
                    batch.error, batch.done = NoScriptError("script vanished again"), True
        except BaseException as e:  # the round trip failed: so did every batch in it
            for batch in batches:
                if not batch.done:
                    batch.error, batch.done = e, True
            if not isinstance(e, Exception):
                raise

    def _send(self, batches: list[_Batch]) -> list[_Batch]:
        """One round trip for ``batches``; returns those that met a missing script."""
        # A pipeline only records the commands (redis-py's own command methods
        # and argument encoding); they are sent below, without its machinery.
        recorder = self._client.pipeline(transaction=False)
        commands = recorder.command_stack
        spans = []
        for batch in batches:
            start = len(commands)
            try:
                batch.queue(recorder)
            except Exception as e:  # a bad batch fails alone, before sending
                del commands[start:]
                batch.error, batch.done = e, True
                continue
            spans.append((batch, start, len(commands)))
        replies = self._roundtrip(commands) if commands else []
        retry = []
        for batch, start, end in spans:
            mine = replies[start:end]
            if any(isinstance(r, NoScriptError) for r in mine):
                retry.append(batch)
                continue
            batch.replies = mine
            batch.error = next((r for r in mine if isinstance(r, Exception)), None)
            batch.done = True
        return retry

    def _roundtrip(self, commands: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> list[Any]:
        """Send ``commands`` in one write, read every reply (an error reply is
        returned in its place). A lost connection is retried as redis-py
        retries its own calls, so batches must be safe to run twice.

        The coalescer keeps a connection of its own (one round trip is in
        flight at a time), packs with hiredis and reads replies straight off
        the connection, applying redis-py's reply callbacks itself: each of
        redis-py's per-call steps (pool checkout, argument checks, metrics
        hooks) costs more CPU than the exchange on a busy worker.
        """
        conn = self._connection()
        callbacks: Any = self._client.response_callbacks  # untyped in redis-py

        def exchange() -> list[Any]:
            # connect() first, not the lazy connect inside send_packed_command:
            # a Sentinel-managed connection asks the sentinels for the primary
            # only in connect(); lazily it would dial its default host.
            conn.connect()
            conn.send_packed_command([b"".join([_pack(args) for args, _ in commands])])
            replies: list[Any] = []
            for args, options in commands:
                try:
                    reply = conn.read_response(disable_decoding=NEVER_DECODE in options)
                except ResponseError as e:
                    replies.append(options.get(EMPTY_RESPONSE, e))
                    continue
                callback = callbacks.get(args[0])
                if callback is not None:
                    options = {k: v for k, v in options.items() if k not in _NOT_FOR_CALLBACKS}
                    reply = callback(reply, **options)
                replies.append(reply)
            return replies

        try:
            replies: list[Any] = conn.retry.call_with_retry(exchange, lambda _: conn.disconnect())
            return replies
        except BaseException:
            conn.disconnect()  # replies may be left unread: never reuse the socket
            raise

    def _connection(self) -> Any:
        """This process's connection (a forked child makes its own)."""
        if self._conn is None or self._conn_pid != os.getpid():
            client: Any = self._client  # redis-py's connection layer is untyped
            self._conn = client.connection_pool.make_connection()
            self._conn_pid = os.getpid()
        return self._conn

    def _load_scripts(self) -> None:
        for script in self._scripts.values():
            self._client.script_load(script.text)

"""The coalescer (workers/transport/coalesce.py): concurrent threads' batches share round
trips, yet each batch gets exactly its own replies and its own errors."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.roundtrips import Pipelined, Script
from workers.transport.coalesce import Coalescer

INCR = "return redis.call('incrby', KEYS[1], ARGV[1])"


def test_a_lone_batch_gets_its_replies_in_order(client: redis.Redis, unique: str) -> None:
    io = Coalescer(client)
    key = f"t{unique}:h"
    client.hset(key, mapping={"a": "1", "b": "2"})

    replies = io.run(lambda p: (p.hget(key, "a"), p.hgetall(key), p.hget(key, "zzz")))

    assert replies == [b"1", {b"a": b"1", b"b": b"2"}, None]


def test_many_threads_each_get_their_own_replies_in_fewer_round_trips(
    client: redis.Redis, backend: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    io = Coalescer(client)
    incr = io.script(INCR)
    client.script_load(INCR)
    key = f"t{unique}:n"
    trips: list[int] = []
    send = io._roundtrip

    def counted(commands: Any) -> list[Any]:
        trips.append(len(commands))
        return send(commands)

    monkeypatch.setattr(io, "_roundtrip", counted)
    results: dict[int, list[Any]] = {}
    start = threading.Barrier(16)

    def worker(n: int) -> None:
        start.wait()
        mine = []
        for i in range(50):
            mine.append(io.run(lambda p, i=i: incr.queue(p, [f"{key}:{n}"], [i])))
        results[n] = mine

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    for n in range(16):
        # Each thread saw only its own counter: the running sums 0, 1, 3, 6, …
        assert results[n] == [[sum(range(i + 1))] for i in range(50)]
        assert client.get(f"{key}:{n}") == str(sum(range(50))).encode()
    assert sum(trips) == 16 * 50  # every command sent once
    if backend == "redis":
        # A real round trip takes long enough for other threads to join it.
        assert len(trips) < 16 * 50


def test_an_error_reply_fails_only_its_own_batch(client: redis.Redis, unique: str) -> None:
    io = Coalescer(client)
    key = f"t{unique}:s"
    client.set(key, "text")
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def bad() -> None:
        barrier.wait()
        try:
            io.run(lambda p: p.incr(key))  # not an integer
        except redis.ResponseError as e:
            outcome["bad"] = e

    def good() -> None:
        barrier.wait()
        outcome["good"] = io.run(lambda p: p.get(key))

    threads = [threading.Thread(target=bad), threading.Thread(target=good)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert "not an integer" in str(outcome["bad"])
    assert outcome["good"] == [b"text"]


def test_a_batch_that_cannot_be_queued_fails_alone(client: redis.Redis, unique: str) -> None:
    io = Coalescer(client)

    def broken(p: Any) -> None:
        p.get(f"t{unique}:x")
        raise ValueError("bad arguments")

    with pytest.raises(ValueError, match="bad arguments"):
        io.run(broken)
    assert io.run(lambda p: p.get(f"t{unique}:x")) == [None]


def test_a_flushed_script_is_loaded_again_and_its_batch_runs_once(
    client: redis.Redis, unique: str
) -> None:
    io = Coalescer(client)
    incr = io.script(INCR)
    key = f"t{unique}:c"
    assert io.run(lambda p: incr.queue(p, [key], [5])) == [5]
    client.script_flush()

    assert io.run(lambda p: incr.queue(p, [key], [1])) == [6]
    assert client.get(key) == b"6"


def test_a_connection_lost_mid_reply_never_leaves_a_half_read_socket(
    client: redis.Redis, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    io = Coalescer(client)
    key = f"t{unique}:r"
    client.mset({f"{key}:1": "one", f"{key}:2": "two"})
    calls = {"n": 0}
    conn: Any = io._connection()
    read = conn.read_response

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # after the first reply, before the second
            raise redis.ConnectionError("connection reset by peer")
        return read(*args, **kwargs)

    monkeypatch.setattr(conn, "read_response", flaky)
    both = lambda p: (p.get(f"{key}:1"), p.get(f"{key}:2"))  # noqa: E731
    retries = conn.retry.get_retries()
    if retries:  # retried on a fresh connection, as redis-py retries its own calls
        assert io.run(both) == [b"one", b"two"]
    else:
        with pytest.raises(redis.ConnectionError):
            io.run(both)

    # Whatever happened, the next batch reads its own replies, not stale ones.
    assert io.run(lambda p: (p.get(f"{key}:2"), p.get(f"{key}:1"))) == [b"two", b"one"]


def test_a_thread_whose_batch_is_done_never_waits_behind_the_next_round_trip(
    client: redis.Redis, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    io = Coalescer(client)
    key = f"t{unique}:n"
    send = io._roundtrip
    trips: list[threading.Event] = []  # each round trip waits for its own gate
    started = threading.Semaphore(0)

    def gated(commands: Any) -> list[Any]:
        gate = threading.Event()
        trips.append(gate)
        started.release()
        assert gate.wait(10)
        return send(commands)

    monkeypatch.setattr(io, "_roundtrip", gated)
    returned: dict[str, list[Any]] = {}

    def run(name: str) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: returned.__setitem__(name, io.run(lambda p: p.incr(key)))
        )
        thread.start()
        return thread

    def queued(n: int) -> None:  # until n batches wait behind the flush in flight
        for _ in range(500):
            with io._lock:
                if len(io._waiting) == n:
                    return
            time.sleep(0.01)
        raise AssertionError(f"{n} batch(es) never queued")

    threads = [run("a")]
    assert started.acquire(timeout=10)  # trip 1 carries a
    threads += [run("x"), run("y")]
    queued(2)
    trips[0].set()
    assert started.acquire(timeout=10)  # trip 2 carries x and y
    threads.append(run("z"))
    queued(1)
    trips[1].set()
    assert started.acquire(timeout=10)  # trip 3 carries z, and is held
    for thread in threads[:3]:
        thread.join(10)
    # a, x and y are back while z's round trip is still out.
    assert sorted(returned) == ["a", "x", "y"]
    trips[2].set()
    threads[3].join(10)
    assert sorted(v for [v] in returned.values()) == [1, 2, 3, 4]


# The coalescer is the fast twin of store.roundtrips.Pipelined: the same
# batches get the same replies from both.

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["hset", "hget", "hgetall", "incr", "script", "zadd", "zrange", "bad"]),
        st.integers(min_value=0, max_value=3),
        st.integers(min_value=-5, max_value=5),
    ),
    min_size=1,
    max_size=12,
)


def _batch(pipe: Any, key: str, steps: list[tuple[str, int, int]], script: Script) -> None:
    for op, k, n in steps:
        name = f"{key}:{k}"
        if op == "hset":
            pipe.hset(f"{name}:h", mapping={"a": n, "b": "x"})
        elif op == "hget":
            pipe.hget(f"{name}:h", "a")
        elif op == "hgetall":
            pipe.hgetall(f"{name}:h")
        elif op == "incr":
            pipe.incrby(f"{name}:n", n)
        elif op == "script":
            script.queue(pipe, [f"{name}:n"], [n])
        elif op == "zadd":
            pipe.zadd(f"{name}:z", {f"m{n}": n})
        elif op == "zrange":
            pipe.zrange(f"{name}:z", 0, -1, withscores=True)
        else:
            pipe.incrby(f"{name}:h", 1)  # a hash: the server answers an error


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(STEPS, min_size=1, max_size=4))
def test_the_coalescer_and_a_plain_pipeline_give_every_batch_the_same_replies(
    client: redis.Redis, unique: str, batches: list[list[tuple[str, int, int]]]
) -> None:
    # The script is on the server before either twin runs: a missing one makes
    # both run the batch again (safe for the store's batches, not these), and
    # only the twin that went first would meet it.
    client.script_load(INCR)
    answers = []
    for name, twin in (("plain", Pipelined(client)), ("coalesced", Coalescer(client))):
        key = f"t{unique}:{name}:{uuid.uuid4().hex[:6]}"
        script = twin.script(INCR)
        replies: list[Any] = []
        for steps in batches:
            try:
                replies.append(twin.run(lambda p, s=steps, k=key, sc=script: _batch(p, k, s, sc)))
            except redis.ResponseError as e:
                replies.append(type(e).__name__)
        answers.append(replies)
    assert answers[0] == answers[1]

"""subcycle's worker with its ``CancellationRequested`` handler cut short, for
bench/worker_cost.py: where a cancellation's cost goes. Loaded by the
``dramatiq`` CLI; ``BENCH_VARIANT`` picks the handler:

- ``parse``: the event is validated (by the actor, as always), nothing more;
- ``read``: and the subscription is read, as ``apply`` reads it (coalesced);
- ``lua``: an upper bound of the fold written in Lua: the cancellation's
  writes (the fact, the watermark, the version, the event record, the
  billing index) in one coalesced script that also settles the message,
  with none of the fold's rules and nothing decoded;
- ``full``: the real handler.

Everything else is the real worker (``subcycle.worker_app``).
"""

from __future__ import annotations

import os
from typing import Any

from events import CancellationRequested
from store.billing import BillingKeys, shard_of
from store.calendar import jst_date, month_end, month_index
from store.coalesce import Script
from store.codec import digest, dump_fact
from store.records import Fact
from workers import handlers
from workers.deps import Deps

_LUA = """
local claimed = redis.call("hget", KEYS[3], "digest")
if claimed and claimed ~= ARGV[2] then return -1 end
if redis.call("hexists", KEYS[2], ARGV[1]) == 1 then return 0 end
local watermark = redis.call("hget", KEYS[1], "watermark")
if not watermark then return -2 end
redis.call("hset", KEYS[2], ARGV[1], ARGV[3])
if watermark < ARGV[4] then redis.call("hset", KEYS[1], "watermark", ARGV[4]) end
redis.call("hincrby", KEYS[1], "version", 1)
redis.call("hset", KEYS[3], "digest", ARGV[2], "status", "done")
redis.call("zadd", KEYS[4], ARGV[5], ARGV[7])
redis.call("sadd", KEYS[5], ARGV[7])
if KEYS[6] and redis.call("srem", KEYS[6], ARGV[6]) > 0 then
    redis.call("hdel", KEYS[7], ARGV[6])
    return 2
end
return 1
"""
_scripts: dict[int, Script] = {}  # per coalescer, made once


def parse_only(event: CancellationRequested, deps: Deps) -> None:
    """The actor has validated the event; nothing more."""


def read_only(event: CancellationRequested, deps: Deps) -> None:
    keys, sid = deps.store.keys, event.subscription_id
    deps.store.io.run(
        lambda pipe: (
            pipe.hget(keys.event(event.event_id), "digest"),
            pipe.hgetall(keys.subscription(sid)),
            pipe.hgetall(keys.facts(sid)),
        )
    )


def lua_upper_bound(event: CancellationRequested, deps: Deps) -> None:
    io = deps.store.io
    script = _scripts.get(id(io))
    if script is None:
        script = _scripts[id(io)] = io.script(_LUA)
    fingerprint = digest(event.wire())
    fact = Fact(event.event_id, event.type, event.occurred_at, event.kind)
    sid, keys = event.subscription_id, deps.store.keys
    billing, shard = BillingKeys(keys.prefix), shard_of(sid)
    settle = deps.settlement()
    touched = [keys.subscription(sid), keys.facts(sid), keys.event(event.event_id)]
    touched += [billing.ends(shard), billing.dirty(shard)]
    if settle is not None:
        touched += [settle.acks, settle.messages]
    args: list[Any] = [event.event_id, fingerprint, dump_fact(fact, fingerprint)]
    args += [event.occurred_at.isoformat(), month_index(month_end(jst_date(event.occurred_at)))]
    args += [settle.message_id if settle else "", sid]
    (answer,) = io.run(lambda pipe: script.queue(pipe, touched, args))
    if answer == 2 and settle is not None:
        settle.settled()


_VARIANTS = {"parse": parse_only, "read": read_only, "lua": lua_upper_bound}
variant = os.environ.get("BENCH_VARIANT", "full")
if variant != "full":
    handlers.HANDLERS[CancellationRequested] = _VARIANTS[variant]

from subcycle.worker_app import broker  # noqa: E402  (declares the actors, after the swap)

__all__ = ["broker"]

"""``subcycle migrate``: move a store from the layout before the compact
store (store/legacy.py) to today's (store/codec.py, docs/capacity.md).

It walks the subscription keys with SCAN, a batch at a time, and rewrites
each old record in its own WATCH … MULTI/EXEC: the new fields replace the
old ones and the facts hash is folded into the record, or, if a worker
changed the record meanwhile, it is read again. A record already in the new
layout is left as it is. The indexes and the ledger move a batch at a time
too, each batch written to the new buckets and removed from the old keys in
one MULTI/EXEC. So a second run changes nothing and a run stopped half-way
is resumed by running it again. Run it with the workers stopped: a close or
a purchase during the move would miss what is still in the old keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from store import codec, events, legacy
from store.billing import LEGACY_LEVEL, BillingKeys, Span, bucket_of
from store.calendar import period_from_index
from store.keys import Keys
from store.text import text

BATCH = 1_000


@dataclass
class MigrationReport:
    seen: int = 0
    migrated: int = 0
    spans: int = 0
    charges: int = 0
    phones: int = 0
    claims: int = 0


def migrate(
    client: redis.Redis,
    keys: Keys,
    batch: int = BATCH,
    progress: Callable[[MigrationReport], None] | None = None,
) -> MigrationReport:
    report = MigrationReport()
    if client.exists(keys.legacy_phone_locale):
        # Every old record had its number there. Moved, its billing entry is
        # in the legacy level's bucket (it has no level field), so every
        # close from now on walks at least that level's buckets.
        client.zadd(BillingKeys(keys.prefix).layout, {"level": LEGACY_LEVEL}, gt=True)
    for key in client.scan_iter(match=f"{keys.prefix}sub:*", count=batch):
        name = text(key)
        if not name.endswith("}"):
            continue  # a facts hash, moved with its subscription
        report.seen += 1
        if _migrate_one(client, name):
            report.migrated += 1
        if progress is not None and report.seen % batch == 0:
            progress(report)
    report.spans = _move_spans(client, keys.prefix, batch)
    report.charges = _move_ledger(client, keys.prefix, batch)
    report.phones = _move_phones(client, keys, batch)
    report.claims = _move_claims(client, keys, batch)
    return report


def _move_claims(client: redis.Redis, keys: Keys, batch: int) -> int:
    """Each event's own claim record into its bucket (store/events.py), but
    a verification code's, which expires with its attempt and stays."""
    moved = 0
    start = len(f"{keys.prefix}event:{{")
    for key in client.scan_iter(match=f"{keys.prefix}event:{{*", count=batch):
        name = text(key)
        with client.pipeline() as pipe:
            try:
                pipe.watch(name)  # type: ignore[no-untyped-call]
                if pipe.ttl(name) != -1:
                    continue
                digest, status = pipe.hmget(name, [events.CLAIM_FIELD, "status"])
                if digest is None:
                    continue
                bucket, field = keys.claim(name[start:-1])
                done = events.DONE if status is not None and text(status) == "done" else ""
                pipe.multi()
                pipe.hset(bucket, field, text(digest) + done)
                pipe.delete(name)
                pipe.execute()
                moved += 1
            except redis.WatchError:
                continue  # changed meanwhile: the next run takes it
    return moved


def _move_spans(client: redis.Redis, prefix: str, batch: int) -> int:
    bill = BillingKeys(prefix)
    moved = 0
    for shard in range(legacy.SHARDS):
        starts, ends = legacy.starts(prefix, shard), legacy.ends(prefix, shard)
        dirty = legacy.dirty(prefix, shard)
        while rows := _page(client, starts, batch):
            ids = [text(sid) for sid, _ in rows]
            stops = client.zmscore(ends, ids)
            changed = client.smismember(dirty, ids)
            with client.pipeline() as pipe:
                for sid, (_, score), stop, is_dirty in zip(ids, rows, stops, changed, strict=True):
                    span = Span(
                        int(score) // legacy.FEE_SPAN,
                        None if stop is None else int(stop),
                        int(score) % legacy.FEE_SPAN,
                    )
                    pipe.hset(
                        bill.spans(bucket_of(sid, LEGACY_LEVEL)), sid, span.packed(bool(is_dirty))
                    )
                pipe.zrem(starts, *ids)
                pipe.zrem(ends, *ids)
                pipe.srem(dirty, *ids)
                pipe.execute()
            moved += len(ids)
        client.delete(ends, dirty)  # what is left belongs to no monthly span
    return moved


def _move_ledger(client: redis.Redis, prefix: str, batch: int) -> int:
    bill = BillingKeys(prefix)
    moved = 0
    closes: list[tuple[bytes, float]] = client.zrange(  # type: ignore[assignment]
        bill.closes, 0, -1, withscores=True
    )
    for _, index in closes:
        period = period_from_index(int(index))
        for shard in range(legacy.SHARDS):
            old = legacy.charges(prefix, period, shard)
            while rows := _page(client, old, batch):
                ids = [text(sid) for sid, _ in rows]
                with client.pipeline() as pipe:
                    yen = 0
                    for sid, (_, score) in zip(ids, rows, strict=True):
                        fee = int(score) % legacy.FEE_SPAN
                        pipe.hset(bill.ledger(period, bucket_of(sid, LEGACY_LEVEL)), sid, fee)
                        yen += fee
                    pipe.hincrby(bill.close(period), "charges", len(ids))
                    pipe.hincrby(bill.close(period), "yen", yen)
                    pipe.zrem(old, *ids)
                    pipe.execute()
                moved += len(ids)
    return moved


def _move_phones(client: redis.Redis, keys: Keys, batch: int) -> int:
    old = keys.legacy_phone_locale
    moved = 0
    while True:
        found: dict[bytes, bytes]
        _, found = client.hscan(old, 0, count=batch)  # type: ignore[assignment]
        if not found:
            return moved
        with client.pipeline() as pipe:
            for phone, locale in found.items():
                pipe.hset(keys.phone_locale(text(phone)), text(phone), text(locale))
            pipe.hdel(old, *found)
            pipe.execute()
        moved += len(found)


def _migrate_one(client: redis.Redis, sub_key: str) -> bool:
    facts_key = sub_key + ":facts"
    with client.pipeline() as pipe:
        while True:
            try:
                pipe.watch(sub_key, facts_key)  # type: ignore[no-untyped-call]
                raw = pipe.hgetall(sub_key)
                old = {text(k): text(v) for k, v in raw.items()}
                if legacy.PURCHASE not in old:
                    return False
                purchase = legacy.load_purchase(old[legacy.PURCHASE])
                fields = codec.dump_purchase(purchase)
                for event_id, value in pipe.hgetall(facts_key).items():
                    fact, fingerprint = legacy.load_fact(text(event_id), text(value))
                    fields[codec.fact_field(fact.event_id)] = codec.dump_fact(fact, fingerprint)
                watermark = legacy.load_time(old[legacy.WATERMARK])
                if watermark != purchase.occurred_at:
                    fields[codec.WATERMARK] = codec.dump_time(watermark)
                if legacy.VERSION in old:
                    fields[codec.VERSION] = old[legacy.VERSION]
                pipe.multi()
                pipe.delete(sub_key, facts_key)
                pipe.hset(sub_key, mapping=fields)
                pipe.execute()
                return True
            except redis.WatchError:
                continue


def _page(client: redis.Redis, key: str, batch: int) -> list[tuple[bytes, float]]:
    rows: list[tuple[bytes, float]] = client.zrange(  # type: ignore[assignment]
        key, 0, batch - 1, withscores=True
    )
    return rows

"""``subcycle migrate``: move a store from the layout before the compact
store (store/legacy.py) to today's (store/codec.py, docs/capacity.md).

It walks the subscription keys with SCAN, a batch at a time, and rewrites
each old record in its own WATCH … MULTI/EXEC: the new fields replace the
old ones and the facts hash is folded into the record, or, if a worker
changed the record meanwhile, it is read again. A record already in the new
layout is left as it is, so a second run changes nothing and a run stopped
half-way is resumed by running it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from store import codec, legacy
from store.keys import Keys
from store.text import text

BATCH = 1_000


@dataclass
class MigrationReport:
    seen: int = 0
    migrated: int = 0


def migrate(
    client: redis.Redis,
    keys: Keys,
    batch: int = BATCH,
    progress: Callable[[MigrationReport], None] | None = None,
) -> MigrationReport:
    report = MigrationReport()
    for key in client.scan_iter(match=f"{keys.prefix}sub:*", count=batch):
        name = text(key)
        if not name.endswith("}"):
            continue  # a facts hash, moved with its subscription
        report.seen += 1
        if _migrate_one(client, name):
            report.migrated += 1
        if progress is not None and report.seen % batch == 0:
            progress(report)
    return report


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

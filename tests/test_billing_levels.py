"""The billing index grows with the store (store/billing.py, ``Layout``): a
new store starts at the first level, a store from before levels keeps the
legacy one, and a store that grows a level while it fills is closed,
exported and caught up exactly as one that never did: every subscription
charged once, wherever its record's level put it. On both backends."""

from __future__ import annotations

from typing import Any

import pytest

from store import billing, codec
from store.billing import FIRST_LEVEL, LEGACY_LEVEL, BillingKeys, bucket_of
from store.text import text
from subcycle.bootstrap import App
from tests.support import purchase, run
from tests.test_billing import charged, month_end
from tests.test_import import imported


def fields(app: App, sid: str) -> dict[str, str]:
    raw: Any = app.client.hgetall(app.store.keys.subscription(sid))
    return {text(k): text(v) for k, v in raw.items()}


def level(app: App) -> int | None:
    score = app.client.zscore(BillingKeys(app.settings.key_prefix).layout, "level")
    return None if score is None else int(score)


def in_its_bucket(app: App, sid: str) -> bool:
    bucket = bucket_of(sid, codec.level_of(fields(app, sid)))
    return bool(app.client.hexists(app.store.billing.keys.spans(bucket), sid))


def test_a_new_store_starts_at_the_first_level(app: App) -> None:
    assert level(app) == FIRST_LEVEL  # settled as the app was built, the database empty
    app.client.delete(BillingKeys(app.settings.key_prefix).layout)
    run(app, purchase("S1"))  # else the first purchase settles it
    imported(app, [purchase("S2")])

    assert level(app) == FIRST_LEVEL
    assert fields(app, "S1")[codec.LEVEL] == fields(app, "S2")[codec.LEVEL] == str(FIRST_LEVEL)
    assert in_its_bucket(app, "S1")
    assert in_its_bucket(app, "S2")
    run(app, month_end("2026-06"))
    status = app.store.billing.status("2026-06")
    assert status is not None
    assert status.buckets == 2**FIRST_LEVEL
    assert charged(app, "2026-06") == {"S1": 550, "S2": 550}


def as_before_levels(app: App, *sids: str) -> None:
    """Rewrite the store as the code before levels left it: records without
    a level, their entries in the legacy buckets, no layout."""
    keys = BillingKeys(app.settings.key_prefix)
    for sid in sids:
        old = bucket_of(sid, codec.level_of(fields(app, sid)))
        value = app.client.hget(keys.spans(old), sid)
        app.client.hdel(keys.spans(old), sid)
        app.client.hset(keys.spans(bucket_of(sid, LEGACY_LEVEL)), sid, value)  # type: ignore[arg-type]
        app.client.hdel(app.store.keys.subscription(sid), codec.LEVEL)
    app.client.delete(keys.layout)


def test_a_store_from_before_levels_keeps_the_legacy_level(app: App) -> None:
    run(app, purchase("S1"), purchase("S2"))
    as_before_levels(app, "S1", "S2")

    run(app, purchase("S3"))  # the first purchase since the upgrade settles the level

    assert level(app) == LEGACY_LEVEL  # the store has records, so it was written before levels
    assert fields(app, "S3")[codec.LEVEL] == str(LEGACY_LEVEL)
    assert all(in_its_bucket(app, sid) for sid in ("S1", "S2", "S3"))
    run(app, month_end("2026-06"))
    assert charged(app, "2026-06") == {"S1": 550, "S2": 550, "S3": 550}
    license_ = app.store.subscriptions.get("S1")
    assert license_ is not None
    assert license_.last_billed_period == "2026-06"


def test_a_close_registered_before_levels_walks_the_legacy_buckets(app: App) -> None:
    run(app, purchase("S1"), purchase("S2"))
    as_before_levels(app, "S1", "S2")
    registered = app.store.billing.register_close("2026-06", "old-run", app.deps.clock())
    assert not registered
    app.client.hdel(app.store.billing.keys.close("2026-06"), "buckets")  # as the old code left it

    for shard in range(billing.SHARDS):
        app.store.billing.close_shard("2026-06", shard, "old-run")

    assert charged(app, "2026-06") == {"S1": 550, "S2": 550}


def test_a_store_that_grows_levels_is_charged_once_per_subscription(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One record a bucket: the store rises a level past 1,024 and 2,048 records.
    monkeypatch.setattr(billing, "FILL", 1)
    imported(app, [purchase(f"I{k:04d}", fee=100 + k % 7) for k in range(2_300)])
    run(app, *(purchase(f"W{k:03d}") for k in range(40)))
    sids = [f"I{k:04d}" for k in range(2_300)] + [f"W{k:03d}" for k in range(40)]

    levels = {codec.level_of(fields(app, sid)) for sid in sids}
    assert levels == {FIRST_LEVEL, FIRST_LEVEL + 1, FIRST_LEVEL + 2}
    assert level(app) == FIRST_LEVEL + 2
    assert all(in_its_bucket(app, sid) for sid in sids)

    run(app, month_end("2026-06"))
    june = charged(app, "2026-06")
    assert sorted(june) == sorted(sids)  # each once: ``charged`` would hide a repeat, the count not
    assert app.store.ledger.count("2026-06") == len(sids)
    assert sum(june.values()) == app.store.ledger.totals("2026-06")[1]
    for sid in ("I0000", "I1500", "I2299", "W039"):
        license_ = app.store.subscriptions.get(sid)
        assert license_ is not None
        assert license_.last_billed_period == "2026-06"

    # A late purchase after the close, in the newest level's buckets, is caught up for June.
    run(app, purchase("LATE", starts_on="2026-06-10", at="2026-07-03T10:00:00+09:00"))
    run(app, month_end("2026-07"))
    assert "LATE" in charged(app, "2026-06")
    assert app.store.ledger.count("2026-06") == len(sids) + 1
    assert app.store.ledger.count("2026-07") == len(sids) + 1

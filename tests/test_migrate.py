"""``subcycle migrate`` moves a store written in the layout before the compact
store to today's: every license, ledger and CSV reads the same afterwards,
and a second run changes nothing."""

from __future__ import annotations

import zlib
from typing import Any

import redis

from store import codec, legacy
from store.billing import LEGACY_LEVEL, BillingKeys, fee_of
from store.calendar import period_from_index
from store.keys import Keys
from store.migrate import migrate
from store.text import text
from subcycle.bootstrap import App
from subcycle.views import charges_csv, closed_ledger, license_json
from tests.support import cancellation, consent, event, everything_stored, purchase, run

SUBS = ["S1", "S2", "A1", "A2", "S:facts"]


def month_end(period: str) -> Any:
    year, month = int(period[:4]), int(period[5:])
    nxt = f"{year + month // 12}-{month % 12 + 1:02d}"
    return event(
        "BillingCycleClosed",
        event_id=f"month-end:{period}",
        period=period,
        occurred_at=f"{nxt}-01T00:00:00+09:00",
    )


def history(app: App) -> None:
    # A store from before the billing index had levels: the legacy level's buckets.
    app.client.zadd(BillingKeys(app.settings.key_prefix).layout, {"level": LEGACY_LEVEL})
    run(
        app,
        purchase("S1", event_id="pos-s1"),
        purchase("S2", fee=330, at="2026-04-01T10:00:00.250000Z"),
        purchase("A1", plan="annual", starts_on="2025-07-15", fee=880),
        purchase("A2", plan="annual", starts_on="2025-08-01", locale="en"),
        purchase("S:facts", starts_on="2026-05-03"),
    )
    run(
        app,
        cancellation("S1", "2026-06-15T20:30:00+09:00"),
        cancellation("S1", "2026-06-20T10:00:00+09:00"),
        consent("A1", "2026-07-01T09:00:00+09:00"),
        cancellation("A2", "2026-07-02T09:00:00+09:00", kind="auto_renewal"),
    )
    run(app, month_end("2026-06"), month_end("2026-07"), month_end("2026-08"))


def readings(app: App) -> tuple[list[dict[str, Any]], list[str]]:
    licenses = []
    for sid in SUBS:
        sub = app.store.subscriptions.get(sid)
        assert sub is not None
        licenses.append(license_json(sub))
    csv = [
        line
        for period in ("2026-06", "2026-07", "2026-08")
        for line in charges_csv(closed_ledger(app.store.ledger, period))
    ]
    return licenses, csv


def write_legacy(client: redis.Redis, keys: Keys, sid: str) -> None:
    """The record as the layout before the compact store wrote it."""
    key = keys.subscription(sid)
    fields = {text(k): text(v) for k, v in client.hgetall(key).items()}
    purchase_ = codec.load_purchase(sid, fields)
    old = {
        legacy.PURCHASE: legacy.dump_purchase(purchase_),
        legacy.WATERMARK: codec.watermark_of(fields).isoformat(),
    }
    if codec.VERSION in fields:
        old[legacy.VERSION] = fields[codec.VERSION]
    facts = {
        event_id: legacy.dump_fact(fact, fingerprint)
        for event_id, (fact, fingerprint) in codec.facts_of(fields).items()
    }
    client.delete(key)
    client.hset(key, mapping=old)
    if facts:
        client.hset(keys.facts(sid), mapping=facts)


def write_legacy_indexes(client: redis.Redis, keys: Keys) -> None:
    """The billing index, the ledger and the phone index as the old layout
    kept them, built by hand from today's buckets (which are then removed)."""
    prefix, bill = keys.prefix, BillingKeys(keys.prefix)
    for key in list(client.scan_iter(match=f"{bill.span_prefix}*")):
        for sid, value in client.hgetall(key).items():
            start, fee, end = text(value).rstrip("*").split(":")
            shard = zlib.crc32(sid) % legacy.SHARDS
            client.zadd(
                legacy.starts(prefix, shard), {sid: int(start) * legacy.FEE_SPAN + int(fee)}
            )
            if end:
                client.zadd(legacy.ends(prefix, shard), {sid: int(end)})
            if text(value).endswith("*"):
                client.sadd(legacy.dirty(prefix, shard), sid)
        client.delete(key)
    for _, index in client.zrange(bill.closes, 0, -1, withscores=True):
        period = period_from_index(int(index))
        for key in list(client.scan_iter(match=f"{bill.ledger_prefix}{period}:*")):
            for sid, fee in client.hgetall(key).items():
                shard = zlib.crc32(sid) % legacy.SHARDS
                start = fee_of(fee) + 24_000 * legacy.FEE_SPAN  # a start month, then the fee
                client.zadd(legacy.charges(prefix, period, shard), {sid: start})
            client.delete(key)
        client.hdel(bill.close(period), "charges", "yen")
    for key in list(client.scan_iter(match=f"{prefix}ev:*")):
        for event_id, value in client.hgetall(key).items():
            done = text(value).endswith("+")
            record = {"digest": text(value).rstrip("+"), **({"status": "done"} if done else {})}
            client.hset(keys.event(text(event_id)), mapping=record)
        client.delete(key)
    for key in list(client.scan_iter(match=f"{prefix}idx:phones:*")):
        client.hset(keys.legacy_phone_locale, mapping=client.hgetall(key))
        client.delete(key)
    client.delete(bill.layout)  # the old layout had no levels


def test_a_store_in_the_old_layout_reads_the_same_after_migrate(app: App) -> None:
    # Given a store whose subscriptions are in the old layout
    history(app)
    expected = readings(app)
    totals = [app.store.ledger.totals(p) for p in ("2026-06", "2026-07", "2026-08")]
    for sid in SUBS:
        write_legacy(app.client, app.store.keys, sid)
    write_legacy_indexes(app.client, app.store.keys)
    assert app.client.exists(app.store.keys.facts("S1"))

    # When it is migrated
    report = migrate(app.client, app.store.keys, batch=2)

    # Then every license, ledger and CSV reads as before, and no facts hash is left
    assert (report.seen, report.migrated) == (len(SUBS), len(SUBS))
    assert readings(app) == expected
    assert app.client.zscore(BillingKeys(app.settings.key_prefix).layout, "level") == LEGACY_LEVEL
    assert [app.store.ledger.totals(p) for p in ("2026-06", "2026-07", "2026-08")] == totals
    assert list(app.client.scan_iter(match=f"{app.settings.key_prefix}charges:*")) == []
    assert not any(app.client.exists(app.store.keys.facts(sid)) for sid in SUBS)
    assert list(app.client.scan_iter(match=f"{app.settings.key_prefix}event:*")) == []
    assert app.store.events.status("pos-s1") == (
        purchase("S1", event_id="pos-s1").fingerprint(),
        "done",
    )


def test_migrating_twice_changes_nothing(app: App) -> None:
    history(app)
    for sid in SUBS:
        write_legacy(app.client, app.store.keys, sid)
    write_legacy_indexes(app.client, app.store.keys)
    migrate(app.client, app.store.keys)
    before = everything_stored(app.client, app.settings.key_prefix)

    again = migrate(app.client, app.store.keys)

    assert (again.seen, again.migrated) == (len(SUBS), 0)
    assert everything_stored(app.client, app.settings.key_prefix) == before


def test_a_migrated_subscription_takes_new_events(app: App) -> None:
    history(app)
    for sid in SUBS:
        write_legacy(app.client, app.store.keys, sid)
    write_legacy_indexes(app.client, app.store.keys)
    migrate(app.client, app.store.keys)
    run(app, cancellation("S2", "2026-09-10T10:00:00+09:00"), month_end("2026-09"))
    sub = app.store.subscriptions.get("S2")
    assert sub is not None
    assert (sub.license_type, str(sub.service_until)) == ("Cancelled", "2026-09-30")
    charged = {c.subscription_id for c in app.store.ledger.charges("2026-09")}
    assert charged == {"S2", "S:facts", "A1"}

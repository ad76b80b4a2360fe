"""Benchmark and proof: SIGKILL a worker during a run of mixed events, then
count every effect against what was published.

    .venv/bin/python bench/kill_worker.py [--monthly 24000] [--annual 12000]

On the real Redis (``$SUBCYCLE_REDIS_URL``), under its own prefix and
namespace (deleted at the end), with ``--workers`` ``dramatiq`` masters of one
process each on every queue:

1. purchases: ``--monthly`` monthly subscriptions (starting in April or May
   2026) and ``--annual`` annual ones (ending 20 days from today); while they run,
   the first worker is SIGKILLed (its whole process group) as soon as it holds
   fetched messages, and the time until its ack sets are requeued is taken;
2. half of the monthly subscriptions cancelled in June, a third of the annual
   ones given renewal consent;
3. the months 2026-04 to 2026-07 closed, and an expiry tick today at noon
   JST (the annual terms end in 20 days: the 30-day reminder is due for
   every annual without consent). Reminders go out in the JST daytime only:
   run it between 09:00 and 21:00 JST or they wait for the morning.

Then: charges per month, cancelled subscriptions and reminders in the outbox
must equal what the published events imply, each exactly once (charges are
unique per subscription and month by construction; reminders are checked for
distinct message ids); nothing refused or dead-lettered; and the redelivery
must come within the bound of docs/operations.md (heartbeat timeout + the
maintenance interval).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events import JST, Event, parse_event  # noqa: E402
from store.connection import connect  # noqa: E402
from subcycle.bootstrap import build  # noqa: E402
from subcycle.settings import Settings  # noqa: E402
from tests.conftest import delete_prefixed  # noqa: E402
from tests.mixed_run import PERIODS, closed, settled  # noqa: E402
from tests.processes import kill_group, start_worker, stop, wait_for  # noqa: E402
from workers.gateway.outbox import OutboxGateway  # noqa: E402
from workers.transport.broker import BrokerSettings  # noqa: E402
from workers.transport.keys import QueueKeys  # noqa: E402

URL = os.environ.get("SUBCYCLE_REDIS_URL", "redis://127.0.0.1:6379/0")


def monthly(i: int) -> dict[str, object]:
    start = "2026-04-01" if i % 2 == 0 else "2026-05-10"
    return {
        "type": "SubscriptionPurchased",
        "event_id": f"buy-m{i}",
        "occurred_at": f"{start}T10:00:00+09:00",
        "subscription_id": f"M{i}",
        "phone": f"+8190{10_000_000 + i}",
        "product": "Mobile Security",
        "plan": "monthly",
        "starts_on": start,
        "monthly_fee_jpy": 550,
    }


# The reminder sender checks the term against its clock (a reminder for a
# term already over is not sent), so the annual terms end 20 days from today.
TODAY = datetime.now(JST).date()
EXPIRES_ON = TODAY + timedelta(days=20)
STARTS_ON = EXPIRES_ON + timedelta(days=1) - timedelta(days=365)


def annual(i: int) -> dict[str, object]:
    return {
        "type": "SubscriptionPurchased",
        "event_id": f"buy-a{i}",
        "occurred_at": f"{STARTS_ON}T10:00:00+09:00",
        "subscription_id": f"A{i}",
        "phone": f"+8180{10_000_000 + i}",
        "product": "Mobile Security",
        "plan": "annual",
        "term_years": 1,
        "starts_on": str(STARTS_ON),
        "monthly_fee_jpy": 550,
    }


def phase_one(args: argparse.Namespace) -> Iterator[Event]:
    for i in range(max(args.monthly, args.annual)):
        if i < args.monthly:
            yield parse_event(monthly(i))
        if i < args.annual:
            yield parse_event(annual(i))


def phase_two(args: argparse.Namespace) -> Iterator[Event]:
    for i in range(0, args.monthly, 2):
        yield parse_event(
            {
                "type": "CancellationRequested",
                "event_id": f"cancel-m{i}",
                "occurred_at": "2026-06-15T12:00:00+09:00",
                "subscription_id": f"M{i}",
                "kind": "monthly_service",
            }
        )
    for i in range(0, args.annual, 3):
        yield parse_event(
            {
                "type": "RenewalConsentGiven",
                "event_id": f"consent-a{i}",
                "occurred_at": f"{TODAY - timedelta(days=1)}T10:00:00+09:00",
                "subscription_id": f"A{i}",
            }
        )


def phase_three() -> list[Event]:
    closes = [
        parse_event(
            {
                "type": "BillingCycleClosed",
                "event_id": f"bench-close-{p}",
                "occurred_at": "2026-08-01T00:30:00+09:00",
                "period": p,
            }
        )
        for p in PERIODS
    ]
    tick = parse_event(
        {"type": "ExpiryTick", "event_id": "bench-tick", "occurred_at": f"{TODAY}T12:00:00+09:00"}
    )
    return [*closes, tick]


def expected_charges(args: argparse.Namespace) -> dict[str, int]:
    """Months covered by each monthly subscription's service, per period."""
    per = dict.fromkeys(PERIODS, 0)
    for i in range(args.monthly):
        first = 4 if i % 2 == 0 else 5
        last = 6 if i % 2 == 0 else 7  # even ones are cancelled in June
        for month in range(first, last + 1):
            per[f"2026-{month:02d}"] += 1
    return per


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--monthly", type=int, default=24_000)
    parser.add_argument("--annual", type=int, default=12_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--heartbeat-ms", type=int, default=15_000)
    args = parser.parse_args()

    unique = uuid.uuid4().hex[:8]
    env = {
        "SUBCYCLE_REDIS_URL": URL,
        "SUBCYCLE_ENV": "development",  # a benchmark: the outbox gateway
        "SUBCYCLE_KEY_PREFIX": f"kill{unique}:",
        "SUBCYCLE_QUEUE_NAMESPACE": f"killq{unique}",
        "SUBCYCLE_HEARTBEAT_TIMEOUT_MS": str(args.heartbeat_ms),
        "SUBCYCLE_LOG_LEVEL": "WARNING",
        "SUBCYCLE_LOG_FORMAT": "json",
    }
    settings = Settings(
        env="development",
        redis_url=URL,
        key_prefix=env["SUBCYCLE_KEY_PREFIX"],
        queue_namespace=env["SUBCYCLE_QUEUE_NAMESPACE"],
        heartbeat_timeout_ms=args.heartbeat_ms,
    )
    app = build(settings, client=connect(URL))
    ns = settings.queue_namespace
    bound_s = (
        args.heartbeat_ms
        + BrokerSettings(heartbeat_timeout_ms=args.heartbeat_ms).maintenance_interval_ms
    ) / 1000
    beats = QueueKeys(ns).heartbeats
    logs = Path(tempfile.mkdtemp(prefix="kill_worker_"))
    procs = [start_worker(env, threads=args.threads, log=logs / "victim.log")]
    failures: list[str] = []
    try:
        wait_for(lambda: app.client.zcard(beats) == 1, 60)
        victim = app.client.zrange(beats, 0, -1)[0].decode()  # type: ignore[union-attr]
        for n in range(1, args.workers):
            procs.append(start_worker(env, threads=args.threads, log=logs / f"worker{n}.log"))
        wait_for(lambda: app.client.zcard(beats) == args.workers, 60)

        started = time.monotonic()
        one = list(phase_one(args))
        two = list(phase_two(args))
        three = phase_three()
        published = len(one) + len(two) + len(three)
        print(
            f"publishing {published} events: {len(one)} purchases, "
            f"{len(two)} cancellations/consents, {len(three)} ticks"
        )

        app.publisher.publish(one)
        held_key = QueueKeys(ns).acks(victim, "lifecycle")
        wait_for(
            lambda: (
                app.client.scard(held_key) > 0
                and app.client.llen(f"{ns}:lifecycle") < len(one) * 0.7
            ),
            300,
            poll=0.005,
        )
        # Frozen first (SIGSTOP) so that what it holds can be counted, then
        # killed: from Redis's side it died at the freeze.
        os.killpg(procs[0].pid, signal.SIGSTOP)
        killed_at = time.monotonic()
        victim_keys = list(
            app.client.scan_iter(match=QueueKeys(ns).acks(victim, "*"), count=10_000)
        )
        held = sum(int(app.client.scard(k)) for k in victim_keys)
        kill_group(procs[0])
        print(f"SIGKILLed worker {victim[:8]} holding {held} fetched message(s)")
        if held == 0:
            failures.append("the killed worker held no message: nothing was proven")
        wait_for(lambda: not any(app.client.exists(k) for k in victim_keys), bound_s + 60, 0.05)
        redelivered = time.monotonic() - killed_at
        print(
            f"its messages were requeued {redelivered:.1f}s after the kill (bound {bound_s:.1f}s)"
        )
        if redelivered > bound_s + 1.0:
            failures.append(f"redelivery took {redelivered:.1f}s > bound {bound_s:.1f}s")

        wait_for(lambda: settled(app), 1200, poll=0.5)
        app.publisher.publish(two)
        wait_for(lambda: settled(app), 1200, poll=0.5)
        app.publisher.publish(three)
        wait_for(lambda: settled(app) and closed(app), 1200, poll=0.5)
        seconds = time.monotonic() - started
        print(
            f"all {published} events settled in {seconds:.1f}s "
            f"({published / seconds:.0f} events/s), {args.workers - 1} worker(s) "
            f"surviving the kill at {killed_at - started:.1f}s"
        )

        for period, want in expected_charges(args).items():
            got = app.store.ledger.count(period)
            print(f"charges {period}: {got} (expected {want})")
            if got != want:
                failures.append(f"charges {period}: {got} != {want}")
        cancelled = sum(
            1
            for i in range(0, args.monthly, 2)
            if (sub := app.store.subscriptions.get(f"M{i}")) is not None
            and sub.license_type == "Cancelled"
        )
        want_cancelled = len(range(0, args.monthly, 2))
        print(f"cancelled monthly subscriptions: {cancelled} (expected {want_cancelled})")
        if cancelled != want_cancelled:
            failures.append(f"cancelled {cancelled} != {want_cancelled}")
        sent = OutboxGateway(app.client, app.store.keys).messages()
        reminders = [m for m in sent if m.get("kind") == "renewal_reminder"]
        want_reminders = args.annual - len(range(0, args.annual, 3))
        distinct = len({m["message_id"] for m in reminders})
        print(
            f"reminders in the outbox: {len(reminders)}, distinct {distinct} "
            f"(expected {want_reminders}); other messages: {len(sent) - len(reminders)}"
        )
        if (
            len(reminders) != want_reminders
            or distinct != want_reminders
            or len(sent) != len(reminders)
        ):
            others = len(sent) - len(reminders)
            failures.append(
                f"reminders {len(reminders)}/{distinct} != {want_reminders} (+{others})"
            )
        refused = app.store.refusals.list()
        print(f"refused or dead-lettered: {len(refused)}")
        if refused:
            failures.append(
                f"{len(refused)} refused, e.g. {refused[0].reason}: {refused[0].detail}"
            )
    finally:
        for proc in procs:
            stop(proc)
        delete_prefixed(redis.Redis.from_url(URL), env["SUBCYCLE_KEY_PREFIX"], f"{ns}:")
    print("EXACTLY ONCE: OK" if not failures else "FAILED:\n  " + "\n  ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())

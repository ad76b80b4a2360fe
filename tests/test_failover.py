"""A Sentinel failover under load (one primary, one replica, three sentinels
of the test's own): workers, schedulers and a publisher on
``redis+sentinel://`` carry on by themselves after the primary is
SIGKILLed, and every event took effect exactly once. CI-sized; the long run
is ``bench/failover.py``."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
import redis

from events import JST
from events.reasons import Reason
from store.connection import connect
from store.refusals import RefusedEvent
from tests.failover import run
from tests.mixed_run import Effects, Mix
from tests.sentinel_support import Sentinels
from workers.transport.coalesce import Coalescer

pytestmark = pytest.mark.slow


def until_it_answers(do: object, timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return do()  # type: ignore[operator]
        except (redis.ConnectionError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_coalescers_connection_goes_to_the_primary_the_sentinels_name(
    tmp_path: Path,
) -> None:
    # Given a worker's coalescer on a redis+sentinel:// client
    with Sentinels(tmp_path).start() as cluster:
        io = Coalescer(connect(cluster.url))
        assert cluster.primary is not None
        assert cluster.replica is not None
        # When it writes, then again after the primary died and the replica was promoted
        io.run(lambda pipe: pipe.set("coalesced:before", "1"))
        cluster.kill_primary()
        cluster.wait_promoted()
        until_it_answers(lambda: io.run(lambda pipe: pipe.set("coalesced:after", "1")))
        # Then both writes are on the primary of their time: never on another
        # server that happens to answer on localhost:6379
        now = cluster.replica.client()
        assert now.get("coalesced:before") == b"1"
        assert now.get("coalesced:after") == b"1"


def test_after_a_failover_under_load_everything_continues_and_nothing_doubles(
    tmp_path: Path,
) -> None:
    # Given two workers, two schedulers and about 2,000 mixed events being published
    mix = Mix(monthly=860, annual=430, otp=150)
    # When the primary is SIGKILLed during the purchases (and stays dead)
    figures = run(mix, tmp_path, restart_old_primary=False)
    report = "\n".join(figures.lines())
    # Then the replica took over, publishing resumed, the lease is held on the
    # new primary, the workers consumed there,
    assert figures.promoted_s < 15, report
    assert figures.no_service_s < 20, report
    assert figures.lease_holders_after == 1, report
    assert figures.lease_renewed_after, report
    assert figures.consumed_after > 0, report
    # and nothing took effect twice
    assert figures.events >= 2_000, report
    assert not figures.effects.doubled, report
    # and every effect happened exactly once, but for what SUBCYCLE_DURABILITY=memory
    # does not promise (SPEC 14: a crash can lose about the last second). Redis
    # replicates asynchronously: a worker's commit the dead primary had not yet
    # sent its replica is lost, and the message's ack, retried until Redis
    # answers, is taken by the new primary (seen once in CI: one purchase of
    # 2,019). That shows only as the subscription missing, its follow-ups
    # refused as unknown to it; the test with replica durability below and
    # bench/failover.py show how often (README, "Scale-out").
    if figures.effects.lost:
        assert len(figures.effects.lost) <= 5, report
        assert figures.effects.only_lost_purchases(), report
    else:
        assert not figures.failures, report


def test_with_replica_durability_every_acknowledged_event_takes_effect_exactly_once(
    tmp_path: Path,
) -> None:
    # Given SUBCYCLE_DURABILITY=replica and primaries that refuse writes
    # without a replica (min-replicas-to-write 1)
    mix = Mix(monthly=860, annual=430, otp=150)
    options = ("--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")
    # When the primary is SIGKILLed and comes back, empty, as soon as the replica is promoted
    figures = run(
        mix, tmp_path, durability="replica", restart_old_primary=True, server_options=options
    )
    report = "\n".join(figures.lines())
    # Then the old host never took a write as a stale primary, the workers
    # waited out NOREPLICAS instead of dropping their acks, and every event,
    # each acknowledged in the end, took effect exactly once
    assert figures.old_primary_back_s > 0, report
    assert figures.lease_holders_after == 1, report
    assert not figures.failures, report


def test_a_lost_purchase_explains_only_refusals_of_its_own_follow_ups() -> None:
    def refusal(subscription_id: str, reason: Reason = Reason.UNKNOWN_SUBSCRIPTION) -> RefusedEvent:
        return RefusedEvent(
            refusal_id=f"consent-{subscription_id}",
            event_id=f"consent-{subscription_id}",
            type="RenewalConsentGiven",
            queue="lifecycle",
            reason=reason,
            detail=f"no subscription {subscription_id!r}",
            refused_at=datetime(2026, 12, 2, tzinfo=JST),
            payload={"subscription_id": subscription_id},
        )

    assert Effects(lost=["A15"], refused=[refusal("A15")]).only_lost_purchases()
    assert not Effects(lost=["A15"], refused=[refusal("A16")]).only_lost_purchases()
    assert not Effects(
        lost=["A15"], refused=[refusal("A15", Reason.TERM_ENDED)]
    ).only_lost_purchases()
    doubled = ["charges 2026-05 charged twice: 1 != 0"]
    assert not Effects(lost=["A15"], doubled=doubled).only_lost_purchases()

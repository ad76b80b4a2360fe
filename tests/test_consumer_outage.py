"""Redis that stops answering (a timeout, as a host whose packets vanish
sees it) or refuses writes for now (NOREPLICAS, LOADING) is an outage to
Dramatiq's worker, as a refused connection is: it retries the ack until
Redis answers and restarts the consumer, instead of taking it for a bug of
its own and dropping the ack (which strands the message in a live worker's
ack set until that worker restarts)."""

from __future__ import annotations

import pytest
import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.errors import ConnectionClosed

from subcycle.bootstrap import App
from workers.transport.recovery import redis_away

OUTAGES = [
    redis.TimeoutError("Timeout reading from socket"),
    redis.ConnectionError("gone"),
    redis.ResponseError("NOREPLICAS Not enough good replicas to write."),
]
IDS = ["timeout", "refused", "noreplicas"]


def fetched(app: App, queue: str = "cancellations") -> MessageProxy:
    return MessageProxy(
        Message(
            queue_name=queue,
            actor_name="cancel",
            args=(),
            kwargs={},
            options={"redis_message_id": "rid-1"},
        )
    )


@pytest.mark.parametrize("outage", OUTAGES, ids=IDS)
def test_an_ack_that_meets_an_outage_is_a_connection_error_dramatiq_retries(
    app: App, monkeypatch: pytest.MonkeyPatch, outage: Exception
) -> None:
    consumer = app.broker.consume("cancellations", prefetch=1, timeout=10)

    def away(*args: object) -> None:
        raise outage

    monkeypatch.setattr(app.broker, "coalesced_ack", away)
    with pytest.raises(ConnectionClosed):
        consumer.ack(fetched(app))


@pytest.mark.parametrize("outage", OUTAGES, ids=IDS)
def test_a_fetch_that_meets_an_outage_restarts_the_consumer_as_a_connection_error(
    app: App, monkeypatch: pytest.MonkeyPatch, outage: Exception
) -> None:
    consumer = app.broker.consume("cancellations", prefetch=1, timeout=10)

    def away(*args: object) -> None:
        raise outage

    monkeypatch.setattr(app.broker, "coalesced_fetch", away)
    with pytest.raises(ConnectionClosed):
        next(consumer)


def test_a_nack_that_times_out_is_a_connection_error_dramatiq_retries(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = app.broker.consume("cancellations", prefetch=1, timeout=10)

    def away(*args: object) -> None:
        raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(app.broker, "do_nack", away)
    with pytest.raises(ConnectionClosed):
        consumer.nack(fetched(app))


@pytest.mark.parametrize(
    "said",
    [
        "NOREPLICAS Not enough good replicas to write.",
        "Command # 1 (ZADD q:__consumers__.billing 1 w) of pipeline caused error: "
        "NOREPLICAS Not enough good replicas to write.",
        "LOADING Redis is loading the dataset in memory",
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    ],
)
def test_a_server_refusing_writes_for_now_is_an_outage_to_wait_out(said: str) -> None:
    assert redis_away(redis.ResponseError(said))


def test_any_other_error_reply_is_not_an_outage(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert not redis_away(wrong)
    consumer = app.broker.consume("cancellations", prefetch=1, timeout=10)

    def broken(*args: object) -> None:
        raise wrong

    monkeypatch.setattr(app.broker, "coalesced_ack", broken)
    with pytest.raises(redis.ResponseError):
        consumer.ack(fetched(app))

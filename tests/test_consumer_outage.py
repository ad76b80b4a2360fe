"""Redis that stops answering (a timeout, as a host whose packets vanish
sees it) is an outage to Dramatiq's worker, as a refused connection is: it
retries the ack until Redis answers and restarts the consumer, instead of
taking it for a bug of its own and dropping the ack (which strands the
message in a live worker's ack set until that worker restarts)."""

from __future__ import annotations

import pytest
import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.errors import ConnectionClosed

from subcycle.bootstrap import App

OUTAGES = [redis.TimeoutError("Timeout reading from socket"), redis.ConnectionError("gone")]


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


@pytest.mark.parametrize("outage", OUTAGES, ids=["timeout", "refused"])
def test_an_ack_that_meets_an_outage_is_a_connection_error_dramatiq_retries(
    app: App, monkeypatch: pytest.MonkeyPatch, outage: Exception
) -> None:
    consumer = app.broker.consume("cancellations", prefetch=1, timeout=10)

    def away(*args: object) -> None:
        raise outage

    monkeypatch.setattr(app.broker, "coalesced_ack", away)
    with pytest.raises(ConnectionClosed):
        consumer.ack(fetched(app))


@pytest.mark.parametrize("outage", OUTAGES, ids=["timeout", "refused"])
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

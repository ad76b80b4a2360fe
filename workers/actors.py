"""Thin Dramatiq actors: re-validate the message into its event, call the
handler, turn refusals into retries or dead letters. Safe to run twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dramatiq
import structlog
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from events import QUEUE_OF, Event, InvalidEvent, Queue, parse_event
from store.codec import digest
from store.errors import Refusal, UnknownSubscription
from store.refusals import RefusedEvent
from workers.deps import Deps
from workers.errors import Rejected, RetryLater
from workers.handlers import HANDLERS, TASKS, Handler

log = structlog.get_logger(__name__)

MAX_STORED_PAYLOAD = 16_384

# Retries that fit each queue: a charge can wait, a verification code cannot.
# Every bound is the actor's own: a message can never change one
# (workers/envelope.py). time_limit: the longest a handler may hold a thread.
QUEUE_OPTIONS: dict[Queue, dict[str, Any]] = {
    Queue.LIFECYCLE: {
        "max_retries": 10,
        "min_backoff": 1_000,
        "max_backoff": 300_000,
        "time_limit": 60_000,
    },
    Queue.CANCELLATIONS: {
        "max_retries": 10,
        "min_backoff": 1_000,
        "max_backoff": 300_000,
        "time_limit": 60_000,
    },
    Queue.BILLING: {
        "max_retries": 20,
        "min_backoff": 1_000,
        "max_backoff": 600_000,
        "time_limit": 300_000,
    },
    # A code lives 10 minutes: ride out a provider's blip for a few minutes,
    # never past max_age (and the handler delivers nothing once the code died).
    Queue.OTP: {
        "max_retries": 8,
        "min_backoff": 500,
        "max_backoff": 60_000,
        "max_age": 600_000,
        "time_limit": 30_000,
    },
    Queue.NOTIFICATIONS: {
        "max_retries": 10,
        "min_backoff": 1_000,
        "max_backoff": 600_000,
        "time_limit": 60_000,
    },
}


def declare_actors(broker: RedisBroker, deps: Deps) -> dict[str, dramatiq.Actor[Any, Any]]:
    """One actor per event type, on that type's queue, bound to ``broker``."""
    actors: dict[str, dramatiq.Actor[Any, Any]] = {}
    for event_type, queue in QUEUE_OF.items():
        name = event_type.__name__
        handler = HANDLERS.get(event_type, _not_built_yet)
        options = dict(QUEUE_OPTIONS[queue])
        options["throws"] = (Rejected,)
        if event_type.__name__ in {"CancellationRequested", "RenewalConsentGiven"}:
            # Our own bounded wait for a racing purchase decides; see _run.
            options["max_retries"] = deps.retry.unknown_subscription_retries + 1
        actors[name] = dramatiq.Actor(
            _actor_body(event_type, queue, handler, deps),
            broker=broker,
            actor_name=name,
            queue_name=queue.value,
            priority=0,
            options=options,
        )
    for name, task in TASKS.items():
        options = {**QUEUE_OPTIONS[task.queue], "throws": (Rejected,), **task.options}
        actors[name] = dramatiq.Actor(
            task.body(deps),
            broker=broker,
            actor_name=name,
            queue_name=task.queue.value,
            priority=0,
            options=options,
        )
    return actors


def _not_built_yet(event: Event, deps: Deps) -> None:
    raise Refusal("not_supported", f"no handler for {type(event).__name__} yet")


def _actor_body(
    event_type: type[Event], queue: Queue, handler: Handler, deps: Deps
) -> Callable[[Any], None]:
    def run(wire: Any) -> None:
        _run(wire, event_type, queue, handler, deps)

    run.__name__ = event_type.__name__
    return run


def _run(wire: Any, event_type: type[Event], queue: Queue, handler: Handler, deps: Deps) -> None:
    try:
        event = parse_event(wire)
    except InvalidEvent as e:
        _reject(deps, wire, queue, "invalid_event", str(e))
    if not isinstance(event, event_type):
        sent = type(event).__name__
        _reject(deps, wire, queue, "wrong_actor", f"{sent} sent to the {event_type.__name__} actor")
    try:
        handler(event, deps)
    except UnknownSubscription as e:
        retries = current_retries() or 0
        if retries < deps.retry.unknown_subscription_retries:
            delay = deps.retry.unknown_subscription_backoff_ms * 2**retries
            log.info("waiting_for_purchase", retries=retries, delay_ms=delay)
            raise dramatiq.Retry(str(e), delay=delay) from e
        _reject(deps, event.wire(), queue, e.reason, e.detail, event)
    except Refusal as e:
        _reject(deps, event.wire(), queue, e.reason, e.detail, event)
    except RetryLater as e:
        log.info("waiting", reason=e.reason, retries=current_retries(), delay_ms=e.delay_ms)
        raise dramatiq.Retry(str(e), delay=e.delay_ms) from e


def current_retries() -> int | None:
    """How many times the message being handled was retried; None outside a worker."""
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else None


def _reject(
    deps: Deps, wire: Any, queue: Queue, reason: str, detail: str, event: Event | None = None
) -> Any:
    """Keep a durable record of the refusal, release the event id, dead-letter."""
    message = CurrentMessage.get_current_message()
    rid = message.options.get("redis_message_id") if message is not None else None
    refusal_id = message.message_id if message is not None else (event.event_id if event else "?")
    payload = wire if isinstance(wire, dict) else {"raw": repr(wire)[:200]}
    if len(json.dumps(payload, default=str)) > MAX_STORED_PAYLOAD:
        payload = {"truncated": json.dumps(payload, default=str)[:MAX_STORED_PAYLOAD]}
    event_id = payload.get("event_id") if isinstance(payload.get("event_id"), str) else None
    deps.store.refusals.record(
        RefusedEvent(
            refusal_id=refusal_id,
            event_id=event_id,
            type=payload.get("type") if isinstance(payload.get("type"), str) else None,
            queue=queue.value,
            reason=reason,
            detail=detail,
            refused_at=deps.clock(),
            payload=payload,
            dead_lettered=True,
            redis_message_id=rid,
        )
    )
    if event is not None and reason != "event_id_reused":
        deps.store.events.forget(event.event_id, digest(event.wire()))
    log.warning("event_refused", reason=reason, detail=detail)
    raise Rejected(reason, detail)

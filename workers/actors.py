"""Thin Dramatiq actors: re-validate the message into its event, call the
handler, turn refusals into dead letters and ``RetryLater`` into retries.
Safe to run twice. The transport is given each handler's result, to see a
commit that settled its message (workers/transport/settle.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import dramatiq
import structlog
from dramatiq.middleware import CurrentMessage

from events import QUEUE_OF, Event, InvalidEvent, Queue, ids, parse_event
from events.reasons import Reason, Refusal
from store.errors import UnknownSubscription
from store.refusals import refused
from workers.deps import Deps
from workers.errors import Rejected, RetryLater
from workers.handlers import HANDLERS, TASKS, Handler
from workers.transport.broker import SubcycleBroker

log = structlog.get_logger(__name__)

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


def declare_actors(broker: SubcycleBroker, deps: Deps) -> dict[str, dramatiq.Actor[Any, Any]]:
    """One actor per event type, on that type's queue, bound to ``broker``."""
    actors: dict[str, dramatiq.Actor[Any, Any]] = {}
    for event_type, handler in HANDLERS.items():
        name = event_type.__name__
        queue = QUEUE_OF[event_type]
        options = dict(QUEUE_OPTIONS[queue])
        options["throws"] = (Rejected,)
        if name in {"CancellationRequested", "RenewalConsentGiven"}:
            # Our own bounded wait for a racing purchase decides; see _run.
            options["max_retries"] = deps.racing.retries + 1
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


def _actor_body(
    event_type: type[Event], queue: Queue, handler: Handler, deps: Deps
) -> Callable[[Any], None]:
    def run(wire: Any) -> None:
        deps.settled(_run(wire, event_type, queue, handler, deps))

    run.__name__ = event_type.__name__
    return run


def _run(wire: Any, event_type: type[Event], queue: Queue, handler: Handler, deps: Deps) -> object:
    try:
        event = parse_event(wire)
    except InvalidEvent as e:
        _reject(deps, wire, queue, e.reason, str(e))
    if not isinstance(event, event_type):
        sent = type(event).__name__
        _reject(
            deps, wire, queue, Reason.WRONG_ACTOR, f"{sent} sent to the {event_type.__name__} actor"
        )
    return handle(event, queue, handler, deps)


def handle(event: Event, queue: Queue, handler: Handler, deps: Deps) -> object:
    """An event already judged at the edge, handled as its actor handles it:
    a refusal is recorded and raised as ``Rejected``, a racing purchase is
    waited for (in a worker) or refused (outside one, where nothing runs
    later). ``subcycle import`` calls this for each event of its file."""
    try:
        return handler(event, deps)
    except UnknownSubscription as e:
        delay = deps.racing.delay_ms(deps.retries())
        if delay is None:
            _reject(deps, event.wire(), queue, e.reason, e.detail, event)
        log.info("waiting_for_purchase", retries=deps.retries(), delay_ms=delay)
        raise dramatiq.Retry(str(e), delay=delay) from None
    except Refusal as e:
        _reject(deps, event.wire(), queue, e.reason, e.detail, event)
    except RetryLater as e:
        log.info("waiting", reason=e.reason, retries=deps.retries(), delay_ms=e.delay_ms)
        raise dramatiq.Retry(str(e), delay=e.delay_ms) from None


def current_retries() -> int | None:
    """How many times the message being handled was retried; None outside a worker."""
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else None


def _reject(
    deps: Deps,
    wire: Any,
    queue: Queue,
    reason: Reason,
    detail: str,
    event: Event | None = None,
) -> NoReturn:
    """Keep a durable record of the refusal, release the event id, dead-letter."""
    message = CurrentMessage.get_current_message()
    rid = message.options.get("redis_message_id") if message is not None else None
    if message is not None:
        refusal_id = f"{ids.MESSAGE}{message.message_id}"
    else:
        refusal_id = event.event_id if event is not None else "?"
    deps.store.refusals.record(
        refused(
            refusal_id=refusal_id,
            queue=queue.value,
            reason=reason,
            detail=detail,
            at=deps.clock(),
            payload=wire,
            redis_message_id=rid if isinstance(rid, str) else None,
        )
    )
    if event is not None and reason is not Reason.EVENT_ID_REUSED:
        deps.store.events.forget(event.event_id, event.fingerprint())
    log.warning("event_refused", reason=reason.value, detail=detail)
    raise Rejected(reason, detail)

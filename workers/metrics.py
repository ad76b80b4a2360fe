"""Our Prometheus counters, beside Dramatiq's own middleware.

Call them from anywhere in the workers::

    from workers import metrics
    metrics.charge_recorded(amount_jpy=550)
    metrics.message_sent(channel="sms", kind="verification_code")
    metrics.verification_outcome("ok")

Counters are made on first use, not at import: in a ``dramatiq`` worker
process, Dramatiq's Prometheus middleware switches prometheus-client to its
multi-process mode at process boot, and prometheus-client picks its mode
when it is first imported. Made later, our counters land in the same files
and are served on the workers' port (9191) with Dramatiq's. In any other
process (tests, ``subcycle drain``) they simply count in memory.
"""

from __future__ import annotations

import threading
from typing import Any

from dramatiq import Middleware
from dramatiq.broker import Broker, MessageProxy

from workers.errors import Rejected

_lock = threading.Lock()
_made: dict[str, Any] = {}

_COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "processed": ("subcycle_events_processed", ("type",)),
    "refused": ("subcycle_events_refused", ("type", "reason")),
    "poison": ("subcycle_poison_messages", ("queue", "reason")),
    "charges": ("subcycle_charges_recorded", ()),
    "charged_jpy": ("subcycle_charged_jpy", ()),
    "sent": ("subcycle_messages_sent", ("channel", "kind")),
    "verifications": ("subcycle_verifications", ("outcome",)),
}

_HELP = {
    "processed": "Events whose handler ran to the end, by event type (or task).",
    "refused": "Events refused and dead-lettered, by type and reason.",
    "poison": "Messages moved aside before any actor ran, by queue and reason.",
    "charges": "Charges recorded in the ledger.",
    "charged_jpy": "Yen charged in recorded charges.",
    "sent": "Messages delivered to the gateway, by channel and kind.",
    "verifications": "Verification code checks, by outcome.",
}


def registry() -> Any:
    """The registry our counters live in, every one of them made, so a reader
    (a test, the check that alerts name only exported metrics) sees each
    name before its first count."""
    for name in _COUNTERS:
        _counter(name)
    return _made["registry"]


def _counter(name: str) -> Any:
    counter = _made.get(name)
    if counter is not None:
        return counter
    with _lock:
        if name not in _made:
            import prometheus_client as prom  # late on purpose: see the module doc

            reg = _made.setdefault("registry", prom.CollectorRegistry())
            metric, labels = _COUNTERS[name]
            _made[name] = prom.Counter(metric, _HELP[name], labels, registry=reg)
        return _made[name]


def event_processed(event_type: str) -> None:
    _counter("processed").labels(event_type).inc()


def event_refused(event_type: str, reason: str) -> None:
    _counter("refused").labels(event_type, reason).inc()


def poison_moved(queue: str, reason: str) -> None:
    _counter("poison").labels(queue, reason).inc()


def charge_recorded(amount_jpy: int = 0, count: int = 1) -> None:
    _counter("charges").inc(count)
    if amount_jpy:
        _counter("charged_jpy").inc(amount_jpy)


def message_sent(channel: str, kind: str) -> None:
    _counter("sent").labels(channel, kind).inc()


def verification_outcome(outcome: str) -> None:
    _counter("verifications").labels(outcome).inc()


class MetricsMiddleware(Middleware):
    """Counts processed and refused events per type."""

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            event_processed(message.actor_name)
        elif isinstance(exception, Rejected):
            event_refused(message.actor_name, exception.reason)

    def poison_moved(self, queue: str, reason: str) -> None:
        poison_moved(queue, reason)

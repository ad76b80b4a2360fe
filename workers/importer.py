"""Existing contracts in bulk (``subcycle import``): lifecycle events applied
straight to the store by the very handlers the workers run, many at once.

No queue, no message: each event, already judged at the edge, goes to its
handler as its actor would hand it over (``workers.actors.handle``), so a
refusal is recorded as a worker records it and an event id is done as a
worker marks it. Nothing here knows a key name; the store's port does.

- **Order.** A subscription's events run one after another in one thread:
  its purchases first, then the rest in file order. In a worker a consent
  or cancellation racing its purchase waits for it, so applying the
  purchase first is that outcome without the wait; the rest cannot depend
  on order (the store folds facts by ``occurred_at``).
- **Speed.** ``subcycle import`` spreads subscriptions over processes
  (workers/import_run.py); in each, those left event by event go over
  threads too (their round trips coalesced, as a worker's threads share
  theirs).
- **Bulk.** A new subscription's whole history goes to the store at once
  (``Subscriptions.load_histories``: one commit for all its events, many
  subscriptions per round trip), each event's outcome then handed to what
  follows its handler's commit (its log line, a rule's refusal recorded)
  and to its actor's refusal recording. A history the store already holds
  whole (the same file imported again) comes back from that call as
  duplicates; any other it does not take (an existing record with events
  it lacks, an id claimed before) goes event by event, the twin path
  (``bulk=False`` sends everything that way; tests/test_import.py proves
  both have the outcome of publishing and draining, and leave the same keys).
- **Follow-ups** a handler would publish are withheld and counted: an
  import of existing contracts sends nothing to anyone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from events import (
    CancellationRequested,
    Event,
    Problem,
    RenewalConsentGiven,
    SubscriptionPurchased,
    queue_of,
)
from store.records import Fact, Purchase, purchase_of
from store.subscriptions import Applied, History, Outcome
from workers.actors import handle
from workers.deps import Deps
from workers.errors import Rejected, WorkerError
from workers.handlers import HANDLERS, Handler
from workers.handlers.lifecycle import changed, purchased
from workers.ingest import ItemProblem, Judged

# The history of a contract: what an import takes. Ticks, closes, codes and
# term ends are the running system's own; the fold derives term ends.
CONTRACT_EVENTS: tuple[type[Event], ...] = (
    SubscriptionPurchased,
    RenewalConsentGiven,
    CancellationRequested,
)
_TAKEN = ", ".join(t.__name__ for t in CONTRACT_EVENTS)

Item = tuple[int, Event]  # (line, event)
BATCH = 256  # histories per round trip to the store
IN_FLIGHT = 2  # bulk batches at once: one folded while the store writes another


def not_contract_events(judged: Judged) -> list[ItemProblem]:
    """A problem for every judged event that is not a lifecycle event of a contract."""
    return [
        ItemProblem(
            position,
            Problem(
                "type", f"{type(event).__name__} is not a contract's event (import takes {_TAKEN})"
            ),
        )
        for position, event in judged.events
        if not isinstance(event, CONTRACT_EVENTS)
    ]


@dataclass(frozen=True)
class Rejection:
    """An event its actor would have dead-lettered (``unknown_subscription``,
    ``subscription_exists``, …); its refusal is recorded as a worker records it."""

    position: int
    event_id: str
    reason: str
    detail: str


@dataclass
class ImportReport:
    applied: int = 0
    duplicates: int = 0
    # Refused by a lifecycle rule (not_monthly, term_ended, …): in the history.
    ruled: int = 0
    refused: list[Rejection] = field(default_factory=list)
    # Follow-up events the handlers asked to publish, not sent.
    withheld: int = 0

    @property
    def handled(self) -> int:
        return self.applied + self.duplicates + self.ruled + len(self.refused)

    def merge(self, other: ImportReport) -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.ruled += other.ruled
        self.refused.extend(other.refused)
        self.withheld += other.withheld


class ImportFailed(WorkerError):
    """The import stopped part-way (Redis went away, …). What was applied
    stays; importing the same file again applies the rest."""

    def __init__(self, detail: str, report: ImportReport) -> None:
        self.report = report
        super().__init__(detail)


class Withheld:
    """The publisher an import gives the handlers: it sends nothing, and counts."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def publish_derived(self, events: Iterable[Event]) -> None:
        n = sum(1 for _ in events)
        with self._lock:
            self.count += n


def by_subscription(events: Sequence[Item]) -> list[list[Item]]:
    """The events of each subscription, in the order they apply: its purchases
    first, then the rest, each in file order; subscriptions in the order the
    file first names them."""
    groups: dict[str, tuple[list[Item], list[Item]]] = {}
    for item in events:
        event = item[1]
        purchases, rest = groups.setdefault(getattr(event, "subscription_id", ""), ([], []))
        (purchases if isinstance(event, SubscriptionPurchased) else rest).append(item)
    return [purchases + rest for purchases, rest in groups.values()]


def apply_groups(
    groups: Sequence[list[Item]],
    deps: Deps,
    threads: int,
    done: Callable[[int], None] = lambda n: None,
    bulk: bool = True,
) -> ImportReport:
    """Apply every group; ``done(n)`` as they are done. ``bulk``: the
    histories the store takes at once first, two batches at a time, then the rest
    event by event, ``threads`` at a time (all of them when not ``bulk``)."""
    withheld = deps.publisher if isinstance(deps.publisher, Withheld) else None
    before = withheld.count if withheld else 0
    report = ImportReport()
    if bulk:
        # Histories loaded at once take two threads (a fold beside a script
        # call); ``threads`` go to the histories the store left event by event.
        groups = _apply_bulk(groups, deps, done, report)
    threads = max(1, min(threads, len(groups)))
    if groups:
        with ThreadPoolExecutor(threads, thread_name_prefix="import") as pool:
            for part in pool.map(lambda k: _apply(groups[k::threads], deps, done), range(threads)):
                report.merge(part)
    report.withheld = (withheld.count - before) if withheld else 0
    return report


def _apply(groups: Sequence[list[Item]], deps: Deps, done: Callable[[int], None]) -> ImportReport:
    """Event by event, each through its handler: the twin of ``_apply_bulk``."""
    report = ImportReport()
    for group in groups:
        for position, event in group:
            _handled(report, position, event, HANDLERS[type(event)], deps)
        done(len(group))
    return report


def _apply_bulk(
    groups: Sequence[list[Item]], deps: Deps, done: Callable[[int], None], report: ImportReport
) -> list[list[Item]]:
    """Load the histories the store takes at once, counted in ``report``;
    the groups it left, to apply event by event. Two threads take the
    batches in turn, so one folds while the other's script runs in Redis
    (the socket wait frees the interpreter); more would only queue behind
    the one round trip a process has in flight."""
    batches = [groups[start : start + BATCH] for start in range(0, len(groups), BATCH)]
    left: list[list[Item]] = []
    with ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="import-bulk") as pool:
        for part, untaken in pool.map(lambda batch: _load(batch, deps, done), batches):
            report.merge(part)
            left += untaken
    return left


def _load(
    batch: Sequence[list[Item]], deps: Deps, done: Callable[[int], None]
) -> tuple[ImportReport, list[list[Item]]]:
    """One batch through ``load_histories``: its report, and its groups left."""
    report, left = ImportReport(), []
    answers = deps.store.subscriptions.load_histories([_history(g) for g in batch])
    taken = 0
    for group, outcomes in zip(batch, answers, strict=True):
        if outcomes is None:
            left.append(group)
            continue
        for (position, event), outcome in zip(group, outcomes, strict=True):
            _handled(report, position, event, _replay(outcome), deps)
        taken += len(group)
    done(taken)
    return report, left


def _history(group: list[Item]) -> History:
    items: list[tuple[Purchase | Fact, str]] = []
    for _, event in group:
        if isinstance(event, SubscriptionPurchased):
            items.append((purchase_of(event), event.fingerprint()))
        else:
            assert isinstance(event, RenewalConsentGiven | CancellationRequested)
            kind = event.kind if isinstance(event, CancellationRequested) else None
            fact = Fact(event.event_id, event.type, event.occurred_at, kind)
            items.append((fact, event.fingerprint()))
    return getattr(group[0][1], "subscription_id", ""), items


def _replay(outcome: Outcome) -> Handler:
    """A handler whose store call already ran: ``outcome`` is what it did."""

    def handler(event: Event, deps: Deps) -> object:
        if not isinstance(outcome, Applied):
            raise outcome
        if isinstance(event, SubscriptionPurchased):
            return purchased(event, outcome, deps)
        assert isinstance(event, RenewalConsentGiven | CancellationRequested)
        return changed(event, outcome, deps)

    return handler


def _handled(
    report: ImportReport, position: int, event: Event, handler: Handler, deps: Deps
) -> None:
    """Hand ``event`` over as its actor would; count what it did."""
    try:
        result = handle(event, queue_of(event), handler, deps)
    except Rejected as e:
        detail = str(e).removeprefix(f"{e.reason}: ")
        report.refused.append(Rejection(position, event.event_id, e.reason.value, detail))
        return
    assert isinstance(result, Applied)
    if result.duplicate:
        report.duplicates += 1
    elif result.entry is not None and result.entry.reason is not None:
        report.ruled += 1
    else:
        report.applied += 1

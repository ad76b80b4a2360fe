"""A go-live file through ``subcycle import``: judged, then applied, in one
process or spread over several, with one outcome.

``import_lines`` takes the file's numbered lines. Nothing is written unless
every line passed: the models (``workers.ingest``), an id no other line uses
with other content, a contract's event (``workers.importer``), and no id
published before with other content. Then each subscription's events are
applied as its worker would apply them (``workers.importer.apply_groups``).

Over several processes, each judges the lines it will apply. The parent
shares the lines out by the ``subscription_id`` their text names (a cheap
look, not a judgment), forks, and the processes go through four steps
together, each answering before any goes on:

1. **parse** its lines by the models; an event whose parsed subscription is
   another process's (the text said otherwise: an escape, a key in a string)
   goes to the parent, with a digest of the ids it keeps;
2. **judge** its share, the events passed on to it added: repeated ids and
   events that are not a contract's. An id found in two shares (by digest)
   is judged by the parent as ``judge`` would judge the whole file;
3. **claims**: only when no line of the file has a problem, the ids
   published before;
4. **apply** its share, once every process found nothing.

So the refusals are those of one process judging the whole file, word for
word (tests/test_import_run.py compares the two over random files), and a
process holds only its share's events.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import re
import threading
import traceback
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from events import Event
from workers import cyclegc
from workers.deps import Deps
from workers.importer import (
    ImportFailed,
    ImportReport,
    apply_groups,
    by_subscription,
    not_contract_events,
)
from workers.ingest import (
    Claims,
    ItemProblem,
    Judged,
    Refused,
    Where,
    judge,
    parse_items,
    refuse_repeats,
    repeated,
    reused,
)

Line = tuple[int, str]  # (line number, text)
Progress = Callable[[int], None]


def _nothing(n: int) -> None:
    pass


@dataclass(frozen=True)
class Target:
    """The store an import writes to. ``open`` runs in the parent once the
    file has passed (it checks the server, and says why it cannot);
    ``claims`` and ``deps`` in each process that needs them, after the fork
    (each builds its own connections)."""

    open: Callable[[], object]
    claims: Callable[[], Claims]
    deps: Callable[[], Deps]


def import_lines(
    lines: Sequence[Line],
    target: Target,
    where: Where,
    *,
    processes: int,
    threads: int,
    checked: Progress = _nothing,
    done: Progress = _nothing,
    bulk: bool = True,
) -> ImportReport:
    """Judge ``lines`` and apply their events; ``checked(n)`` as lines are
    judged, ``done(n)`` as events are applied. Raises ``Refused`` (nothing
    written) or ``ImportFailed`` (stopped part-way)."""
    processes = max(1, min(processes, len(lines)))
    with cyclegc.paused():  # the file's events are held to the end
        if processes == 1:
            return _in_one(lines, target, where, threads, checked, done, bulk)
        return _Shares(lines, target, where, processes, threads, bulk).run(checked, done)


def _in_one(
    lines: Sequence[Line],
    target: Target,
    where: Where,
    threads: int,
    checked: Progress,
    done: Progress,
    bulk: bool,
) -> ImportReport:
    """The whole file in this process: the twin of the shares."""
    judged = judge(lines, where)
    checked(len(lines))
    problems = sorted(judged.problems + not_contract_events(judged), key=_position)
    if problems:
        raise Refused(problems)
    target.open()
    problems = reused(target.claims(), judged.events)
    if problems:
        raise Refused(problems)
    try:
        return apply_groups(by_subscription(judged.events), target.deps(), threads, done, bulk)
    except Exception as e:
        raise ImportFailed(_said(e), ImportReport()) from e


# --- the shares --------------------------------------------------------------

_SUBSCRIPTION = re.compile(r'"subscription_id"\s*:\s*"([^"\\]*)"')


def share_of(subscription_id: str, shares: int) -> int:
    return zlib.crc32(subscription_id.encode()) % shares


def share_of_line(text: str, shares: int) -> int:
    """The share a line's text names; ``share_of`` its parsed subscription
    decides, and a process passes on what it was given wrongly."""
    found = _SUBSCRIPTION.search(text)
    return share_of(found.group(1) if found else "", shares)


def _subscription(event: Event) -> str:
    return str(getattr(event, "subscription_id", ""))


@dataclass(frozen=True)
class _Occurrence:
    """An event of an id that digests found in two shares: enough to judge it."""

    position: int
    event_id: str
    fingerprint: str
    not_contract: list[ItemProblem]  # what ``not_contract_events`` says of it


class _Shares:
    """The parent's side: the lines shared out, the steps in step."""

    def __init__(
        self,
        lines: Sequence[Line],
        target: Target,
        where: Where,
        processes: int,
        threads: int,
        bulk: bool,
    ) -> None:
        self._where = where
        self._target = target
        ctx = multiprocessing.get_context("fork")
        self._checked: Any = ctx.Array("q", processes, lock=False)
        self._applied: Any = ctx.Array("q", processes, lock=False)
        shares = _Share.split(lines, processes)
        self._children: list[tuple[Any, Any]] = []
        # Fork: each child inherits its share's lines, nothing pickled.
        for k in range(processes):
            mine, theirs = ctx.Pipe()
            job = _Job(
                k,
                processes,
                shares[k],
                target,
                where,
                threads,
                bulk,
                self._checked,
                self._applied,
            )
            child = ctx.Process(target=_share, args=(job, theirs), daemon=True)
            child.start()
            theirs.close()
            self._children.append((child, mine))

    def run(self, checked: Progress, done: Progress) -> ImportReport:
        try:
            return self._steps(checked, done)
        finally:
            self._stop()

    def _steps(self, checked: Progress, done: Progress) -> ImportReport:
        n = len(self._children)
        shown = _Shown(checked, self._checked)
        parsed = self._answers("parsed", shown)
        passed_on: list[list[tuple[int, Event]]] = [[] for _ in range(n)]
        digests: list[set[int]] = []
        for wrong, digest in parsed:
            digests.append(set(digest))
            for position, event in wrong:
                passed_on[share_of(_subscription(event), n)].append((position, event))
        for k, events in enumerate(passed_on):
            digests[k].update(hash(e.event_id) for _, e in events)
        in_two = _in_two(digests)
        for k, (_, conn) in enumerate(self._children):
            conn.send(("judge", passed_on[k], in_two))
        judged = self._answers("judged", shown)
        problems = _settle(judged, self._where)
        if problems:
            raise Refused(problems)
        self._target.open()
        self._send(("claims",))
        problems = sorted((p for found in self._answers("reused") for p in found), key=_position)
        if problems:
            raise Refused(problems)
        self._send(("apply",))
        return self._applying(done)

    def _send(self, message: tuple[Any, ...]) -> None:
        for _, conn in self._children:
            conn.send(message)

    def _answers(self, step: str, shown: _Shown | None = None) -> list[Any]:
        """Every process's answer to ``step``, in process order."""
        answers: list[Any] = [None] * len(self._children)
        pending = set(range(len(self._children)))
        while pending:
            for k in list(pending):
                child, conn = self._children[k]
                if conn.poll(0.02):
                    kind, value = conn.recv()
                    if kind != step:
                        raise ImportFailed(str(value), ImportReport())
                    answers[k] = value
                    pending.discard(k)
                elif not child.is_alive() and not conn.poll():
                    raise ImportFailed(
                        f"import process {child.pid} died ({child.exitcode})", ImportReport()
                    )
            if shown is not None:
                shown.update()
        return answers

    def _applying(self, done: Progress) -> ImportReport:
        report, failures = ImportReport(), []
        shown = _Shown(done, self._applied)
        pending = dict(enumerate(self._children))
        while pending:
            for k, (child, conn) in list(pending.items()):
                if conn.poll(0.02):
                    kind, value = conn.recv()
                    if kind == "applied":
                        report.merge(value)
                    else:
                        failures.append(str(value))
                    del pending[k]
                elif not child.is_alive() and not conn.poll():
                    failures.append(f"import process {child.pid} died ({child.exitcode})")
                    del pending[k]
            shown.update()
        if failures:
            raise ImportFailed("; ".join(dict.fromkeys(failures)), report)
        return report

    def _stop(self) -> None:
        for child, conn in self._children:
            if child.is_alive():
                with contextlib.suppress(OSError):  # it died meanwhile
                    conn.send(("stop",))
        for child, conn in self._children:
            child.join(timeout=5)
            if child.is_alive():
                child.terminate()
                child.join()
            conn.close()


class _Shown:
    """Progress summed over the processes' counters, told as it grows."""

    def __init__(self, told: Progress, counts: Any) -> None:
        self._told, self._counts, self._shown = told, counts, 0

    def update(self) -> None:
        total = sum(self._counts)
        if total > self._shown:
            self._told(total - self._shown)
            self._shown = total


def _in_two(digests: Sequence[set[int]]) -> set[int]:
    """The digests found in more than one share."""
    found: set[int] = set()
    for i, mine in enumerate(digests):
        for theirs in digests[i + 1 :]:
            found |= mine & theirs
    return found


def _settle(
    judged: Sequence[tuple[list[ItemProblem], list[_Occurrence]]], where: Where
) -> list[ItemProblem]:
    """The file's problems from each share's: an id used in several shares
    is judged here as ``judge`` judges a whole file (the first line that
    uses it stands; every other line with other content is refused naming
    it), replacing what the shares said of those lines."""
    by_id: dict[str, list[tuple[int, _Occurrence]]] = {}
    for k, (_, occurrences) in enumerate(judged):
        for o in occurrences:
            by_id.setdefault(o.event_id, []).append((k, o))
    settled: dict[int, list[ItemProblem]] = {}
    for found in by_id.values():
        if len({k for k, _ in found}) < 2:
            continue  # a digest shared by two ids: each share judged its own
        first_share, first = min(found, key=lambda f: f[1].position)
        for k, o in found:
            if k == first_share:
                continue
            if o.fingerprint != first.fingerprint:
                settled[o.position] = [repeated(o.position, o.event_id, first.position, where)]
            else:
                settled[o.position] = o.not_contract
    problems = [p for share, _ in judged for p in share if p.position not in settled]
    problems += [p for found in settled.values() for p in found]
    return sorted(problems, key=_position)


def _position(problem: ItemProblem) -> int:
    return problem.position


# --- a share's process ---------------------------------------------------------


@dataclass(frozen=True)
class _Share:
    """A process's lines, as one text and their numbers. A forked process
    that walked the parent's list of lines would write to every page of it
    (each object's reference count) and copy them all; one text is one
    object, and its lines are made anew where they are parsed."""

    numbers: array[int]
    text: str  # the lines joined by newlines (a line never holds one)

    @classmethod
    def split(cls, lines: Sequence[Line], shares: int) -> list[_Share]:
        """``lines`` shared out by the subscription their text names."""
        mine: list[tuple[array[int], list[str]]] = [(array("q"), []) for _ in range(shares)]
        for number, text in lines:
            numbers, texts = mine[share_of_line(text, shares)]
            numbers.append(number)
            texts.append(text)
        return [cls(numbers, "\n".join(texts)) for numbers, texts in mine]

    def lines(self) -> Iterator[Line]:
        if not self.numbers:
            return iter(())
        return zip(self.numbers, self.text.split("\n"), strict=True)


@dataclass(frozen=True)
class _Job:
    """What a share's process is given at its fork."""

    k: int  # its share
    n: int  # of so many
    share: _Share  # the lines its text gives this process
    target: Target
    where: Where
    threads: int
    bulk: bool
    checked: Any  # the shared counters of lines judged
    applied: Any  # and of events applied


def _share(job: _Job, conn: Any) -> None:
    try:
        _steps(job, conn)
    except _Stopped:
        pass
    except Exception as e:
        conn.send(("failed", _said(e)))
    except BaseException:  # pragma: no cover - a signal: say so, never hang the parent
        conn.send(("failed", traceback.format_exc(limit=1)))
    finally:
        conn.close()


class _Stopped(Exception):
    """The parent said stop: another share found a problem, or it failed."""


def _next(conn: Any, step: str) -> tuple[Any, ...]:
    message: tuple[Any, ...] = conn.recv()
    if message[0] != step:
        raise _Stopped
    return message


def _steps(job: _Job, conn: Any) -> None:
    k, n = job.k, job.n
    parsed = parse_items(_counted(job.share.lines(), job.checked, k))
    mine: list[tuple[int, Event]] = []
    wrong: list[tuple[int, Event]] = []
    for item in parsed.events:
        (mine if share_of(_subscription(item[1]), n) == k else wrong).append(item)
    conn.send(("parsed", (wrong, [hash(e.event_id) for _, e in mine])))

    _, passed_on, in_two = _next(conn, "judge")
    events = sorted(mine + passed_on, key=lambda item: item[0]) if passed_on else mine
    judged = refuse_repeats(Judged(events, parsed.problems), job.where)
    problems = sorted(judged.problems + not_contract_events(judged), key=_position)
    occurrences = [
        _Occurrence(p, e.event_id, e.fingerprint(), not_contract_events(Judged([(p, e)])))
        for p, e in events
        if hash(e.event_id) in in_two
    ]
    conn.send(("judged", (problems, occurrences)))

    _next(conn, "claims")
    conn.send(("reused", reused(job.target.claims(), judged.events)))

    _next(conn, "apply")

    lock = threading.Lock()

    def tally(count: int) -> None:
        with lock:
            job.applied[k] += count

    groups = by_subscription(judged.events)
    del parsed, mine, events, judged  # what applies is in the groups
    conn.send(("applied", apply_groups(groups, job.target.deps(), job.threads, tally, job.bulk)))


def _counted(lines: Iterable[Line], counts: Any, k: int, every: int = 1024) -> Iterable[Line]:
    """``lines``, counting them into ``counts[k]`` as they go by."""
    n = 0
    for line in lines:
        yield line
        n += 1
        if n == every:
            counts[k] += n
            n = 0
    counts[k] += n


def _said(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"

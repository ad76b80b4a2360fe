"""``subcycle import`` of one go-live file, this checkout beside another
revision (default: the main before the import was spread over processes),
in one run on one throwaway Redis, alternating, as events per second and
their ratio; then each imports the same file a second time (every event a
duplicate), as an operator's retry does.

    .venv/bin/python bench/import_rate.py --contracts 100000 --rounds 2 [--baseline REV]

Each first import starts on an empty store (FLUSHDB between rounds); the wall time
includes the interpreter's start, as an operator sees it. The baseline runs
from a ``git worktree`` of REV with this checkout's virtualenv.

Beside the wall time, the floor: the CPU an event costs in the import's
processes (their rusage) and in Redis (``INFO cpu``), and the rate those
two allow on this machine's cores when nothing else waits.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import bulk  # bench/bulk.py, beside this script
import redis

BASELINE = "19751c7"  # main before workers/import_run.py
GIT = shutil.which("git") or "git"
NAMES = ("baseline", "ours", "baseline again", "ours again")


@dataclass(frozen=True)
class Run:
    seconds: float
    python_cpu: float  # the import's processes, user + system
    redis_cpu: float  # the server's, user + system


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(root: Path, env: dict[str, str], path: Path, processes: int, client: redis.Redis) -> Run:
    argv = [str(bulk.ROOT / ".venv/bin/python"), "-m", "subcycle.cli", "import", str(path)]
    argv += ["--processes", str(processes)]
    cpu, server = children_cpu(), redis_cpu(client)
    started = time.monotonic()
    done = subprocess.run(
        argv, env={**env, "PYTHONPATH": str(root)}, cwd=root, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"import from {root} failed: {done.stderr.strip()[:400]}")
    return Run(seconds, children_cpu() - cpu, redis_cpu(client) - server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-rate-") as tmp:
        worktree = Path(tmp) / "baseline"
        subprocess.run(
            [
                GIT,
                "-C",
                str(bulk.ROOT),
                "worktree",
                "add",
                "-q",
                "--detach",
                str(worktree),
                args.baseline,
            ],
            check=True,
        )
        try:
            path = Path(tmp) / "go-live.jsonl"
            with path.open("w") as f:
                events, _ = bulk.write_go_live(f, bulk.contracts(args.contracts))
            with bulk.dedicated_redis() as url:
                env = bulk.bench_env(url, "rate:", "rateq")
                client = redis.Redis.from_url(url)
                runs: dict[str, list[Run]] = {name: [] for name in NAMES}
                for _ in range(args.rounds):
                    for name, root in (("baseline", worktree), ("ours", bulk.ROOT)):
                        client.flushdb()
                        runs[name].append(timed(root, env, path, args.processes, client))
                        # The same file again: every event a duplicate (after a
                        # failed import, or an operator's second try).
                        again = timed(root, env, path, args.processes, client)
                        runs[f"{name} again"].append(again)
        finally:
            subprocess.run(
                [GIT, "-C", str(bulk.ROOT), "worktree", "remove", "--force", str(worktree)],
                check=False,
            )
    print(
        f"subcycle import, {events:,} events ({args.contracts:,} contracts), "
        f"{args.processes} processes, {args.rounds} rounds alternating"
    )
    cores = os.cpu_count() or 1
    rates = {}
    for name, done in runs.items():
        best = min(done, key=lambda r: r.seconds)
        rates[name] = events / best.seconds
        said = ", ".join(f"{r.seconds:.1f}" for r in done)
        print(
            f"  {name:14} {rates[name]:>9,.0f} events/s  (best {best.seconds:.1f} s; "
            f"runs {said} s; median {statistics.median(r.seconds for r in done):.1f} s)"
        )
        python = 1e6 * best.python_cpu / events
        server = 1e6 * best.redis_cpu / events
        ceiling = cores * 1e6 / (python + server)
        print(
            f"  {'':14} CPU per event: import {python:.0f} us (its start included), "
            f"Redis {server:.0f} us; {cores} cores allow at most {ceiling:,.0f} events/s"
        )
    print(f"  ours / baseline ({args.baseline}): {rates['ours'] / rates['baseline']:.2f}x")
    twice = rates["ours again"] / rates["baseline again"]
    print(f"  the same file again, ours / baseline: {twice:.2f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()

"""``subcycle import`` of one go-live file, this checkout beside another
revision (default: the main before the import was spread over processes),
in one run on one throwaway Redis, alternating, as events per second and
their ratio.

    .venv/bin/python bench/import_rate.py --contracts 100000 --rounds 2 [--baseline REV]

Each import starts on an empty store (FLUSHDB between runs); the wall time
includes the interpreter's start, as an operator sees it. The baseline runs
from a ``git worktree`` of REV with this checkout's virtualenv.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bulk  # bench/bulk.py, beside this script
import redis

BASELINE = "19751c7"  # main before workers/import_run.py
GIT = shutil.which("git") or "git"


def timed(root: Path, env: dict[str, str], path: Path, processes: int) -> float:
    argv = [str(bulk.ROOT / ".venv/bin/python"), "-m", "subcycle.cli", "import", str(path)]
    argv += ["--processes", str(processes)]
    started = time.monotonic()
    done = subprocess.run(
        argv, env={**env, "PYTHONPATH": str(root)}, cwd=root, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"import from {root} failed: {done.stderr.strip()[:400]}")
    return seconds


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
                runs: dict[str, list[float]] = {"ours": [], "baseline": []}
                for _ in range(args.rounds):
                    for name, root in (("baseline", worktree), ("ours", bulk.ROOT)):
                        client.flushdb()
                        runs[name].append(timed(root, env, path, args.processes))
        finally:
            subprocess.run(
                [GIT, "-C", str(bulk.ROOT), "worktree", "remove", "--force", str(worktree)],
                check=False,
            )
    print(
        f"subcycle import, {events:,} events ({args.contracts:,} contracts), "
        f"{args.processes} processes, {args.rounds} rounds alternating"
    )
    rates = {}
    for name, seconds in runs.items():
        best = min(seconds)
        rates[name] = events / best
        said = ", ".join(f"{s:.1f}" for s in seconds)
        print(
            f"  {name:9} {events / best:>9,.0f} events/s  (best {best:.1f} s; runs {said} s; "
            f"median {statistics.median(seconds):.1f} s)"
        )
    print(f"  ours / baseline ({args.baseline}): {rates['ours'] / rates['baseline']:.2f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()

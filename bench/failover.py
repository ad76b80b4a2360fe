"""Benchmark and proof: SIGKILL the Redis primary under load; Sentinel
promotes the replica and everything carries on by itself.

    .venv/bin/python bench/failover.py [--events 28000] [--restart-old-primary]
        [--durability replica] [--min-replicas-to-write 1]

One primary, one replica and three sentinels on loopback ports
(tests/sentinel_support.py; down-after 1 s), two ``subcycle worker``
processes, two ``subcycle scheduler`` replicas and this process publishing
a mixed run of about ``--events`` events in batches of 200, all on
``redis+sentinel://…/mymaster/0``. The primary is SIGKILLed after two
fifths of the purchase batches. A batch whose publish fails is published
again until acknowledged. Printed: promotion time, the time without
service (from the kill to the next acknowledged publish), the failed
publishes, the lease on the new primary, the messages done after the
promotion, and every effect counted against the events (charges,
cancellations, reminders, verification codes exactly once; nothing refused).

``--restart-old-primary`` brings the killed server back (empty, as a
crashed host with no persistence would, with ``replica-priority 0`` as
an operator brings back a host that lost its data) as soon as the replica
is promoted; the sentinels then make it a replica, which ``--durability
replica`` needs to confirm writes again. ``--min-replicas-to-write`` is
passed to both data servers (a primary with no replica refuses writes).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.failover import run  # noqa: E402
from tests.mixed_run import Mix  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=28_000)
    parser.add_argument("--restart-old-primary", action="store_true")
    parser.add_argument("--durability", choices=["memory", "fsync", "replica"], default=None)
    parser.add_argument("--min-replicas-to-write", type=int, default=0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    # A SIGTERM (timeout, Ctrl-C elsewhere) still stops every server and process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options: tuple[str, ...] = ()
    if args.min_replicas_to_write:
        options = ("--min-replicas-to-write", str(args.min_replicas_to_write))
        options += ("--min-replicas-max-lag", "10")
    directory = Path(tempfile.mkdtemp(prefix="failover_"))
    mix = Mix.of_about(args.events)
    try:
        figures = run(
            mix,
            directory,
            durability=args.durability,
            restart_old_primary=args.restart_old_primary,
            server_options=options,
            threads=args.threads,
        )
    finally:
        print(f"logs: {directory}")
    print(f"{mix}; old primary restarted: {args.restart_old_primary}; server options: {options}")
    print("\n".join(figures.lines()))
    if figures.failures:
        print("FAILED:\n  " + "\n  ".join(figures.failures))
        return 1
    shutil.rmtree(directory, ignore_errors=True)
    print("FAILOVER: EVERY EVENT EXACTLY ONCE: OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

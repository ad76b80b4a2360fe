"""Benchmark and proof: a worker host vanishes from the network mid-run,
then comes back.

    .venv/bin/python bench/vanished_host.py [--events 28000] [--cut silent] [--outage 30]

As root (network namespaces): a Redis host and two worker hosts, each
``subcycle worker --processes 1 --threads 8`` against ``redis://10.231.N.1``
over its own veth link (tests/netns_support.py). A mixed run of about
``--events`` events (purchases, cancellations, renewal consents,
verification-code requests, four month-end closes and an expiry tick;
tests/mixed_run.py). While the purchases run, host 1's link is cut
(``--cut``: ``silent`` drops every packet both ways, ``host`` sets its link
down, ``redis`` sets the far end down) for at least ``--outage`` seconds,
then restored. Printed: what host 1 held, when it was requeued against the
bound (``--heartbeat-ms`` + the maintenance interval), when host 2 had done
all of it, how soon host 1 beat again after the restore and what it
processed after it (never restarted), and every effect counted: charges per
subscription and month, cancellations, reminders and verification codes
each exactly once, nothing refused.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mixed_run import Mix  # noqa: E402
from tests.netns_support import netns_refusal  # noqa: E402
from tests.vanishing import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=28_000)
    parser.add_argument("--cut", choices=["silent", "host", "redis"], default="silent")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds, at least")
    parser.add_argument("--heartbeat-ms", type=int, default=15_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    refusal = netns_refusal()
    if refusal is not None:
        print(f"cannot make network namespaces here: {refusal}")
        return 2
    directory = Path(tempfile.mkdtemp(prefix="vanished_host_"))
    mix = Mix.of_about(args.events)
    try:
        figures = run(
            mix,
            directory,
            heartbeat_ms=args.heartbeat_ms,
            outage_s=args.outage,
            cut=args.cut,
            threads=args.threads,
        )
    finally:
        print(f"logs: {directory}")
    print(f"cut: {args.cut}; {mix}")
    print("\n".join(figures.lines()))
    if figures.failures:
        print("FAILED:\n  " + "\n  ".join(figures.failures))
        return 1
    shutil.rmtree(directory, ignore_errors=True)
    print("NOTHING LOST, NOTHING DOUBLED, HOST REJOINED: OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

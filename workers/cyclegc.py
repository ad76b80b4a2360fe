"""Python's cycle collector, paused while a whole file's events are held.

Every full collection visits every tracked object alive. An import or a
publish holds the file's parsed events (and, as it applies them, their
records and outcomes) until it ends, so the collector would walk a growing
heap again and again: 12 µs an event at 110,000 events, a fifth of the
import's CPU, and more the bigger the file. What those paths build is freed
by reference counting (tests/test_cyclegc.py counts the cycles an import
leaves), so the collector waits and runs once at the end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The cycle collector off for the block (and in processes forked in
    it), then on again as it was, and run once."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
            gc.collect()

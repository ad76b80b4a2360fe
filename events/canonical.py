"""The one canonical text of an event's wire form: keys sorted, no spaces,
non-ASCII characters as themselves, as UTF-8. It is what the fingerprint
hashes and what the queue carries, so it must never change.

Two twins behind one seam. ``plain_bytes`` is the definition: the standard
library's encoder, built once. ``fast_bytes`` is orjson, about three times
faster on an event, which an import or a publish pays on every event.
``canonical_bytes`` takes the fast one and falls back to the plain one for
what orjson refuses (an integer beyond 64 bits; a lone surrogate, which
the edge never lets into an event and the definition cannot write either),
so the text is the definition's in every case. tests/test_canonical.py
proves the twins give the same bytes over random wire forms and over every
event in the catalogue's examples.
"""

from __future__ import annotations

import json

import orjson

_PLAIN = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plain_bytes(wire: object) -> bytes:
    """The canonical text by the standard library: the definition."""
    return _PLAIN.encode(wire).encode()


def fast_bytes(wire: object) -> bytes:
    """The canonical text by orjson; raises TypeError where it cannot write it."""
    return orjson.dumps(wire, option=orjson.OPT_SORT_KEYS)


def canonical_bytes(wire: object) -> bytes:
    try:
        return fast_bytes(wire)
    except TypeError:  # orjson.JSONEncodeError is one
        return plain_bytes(wire)

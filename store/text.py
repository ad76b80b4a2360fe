"""Redis answers bytes (the broker's client must not decode, TRAPS); the
store reads its own fields as text through this one helper."""

from __future__ import annotations


def text(value: bytes | str | int | float) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

"""Dramatiq on Redis, in one place (STYLE 13).

Only this package knows where Dramatiq's Redis broker keeps things and how
its messages are written: key names (``keys``), message encoding and ids
(``encoding``), the broker and its guarded consumer (``broker``), fetch,
ack and the settling of a message inside a commit (``settle``), the
coalesced round trips (``coalesce``), enqueueing with claims (``enqueue``),
poison (``envelope``, ``poison``), recovery of a dead worker's messages
(``recovery``), and what operators inspect (``inspect``: depths, in-flight,
dead letters, whether everything is settled). Its Lua scripts sit in
``scripts/``.
"""

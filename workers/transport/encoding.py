"""Dramatiq's message encoding and ids, behind one seam with a plain twin.

A publish of 100,000 events spends much of its time writing messages (this
was a third of ``subcycle publish``, bench/throughput.py), so the default
writes the fields Dramatiq's ``Message.encode()`` writes, in its order,
straight into text, and makes version-4 UUIDs from one call to the random
source. ``encode_plain`` and ``plain_message_ids`` are Dramatiq's and the
standard library's own ways; tests/test_transport_encoding.py proves both
give the same messages (hypothesis).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

from dramatiq import Message

Encoder = Callable[[str, str, str, str, int, int | None], str | bytes]


def encode(
    queue_name: str,
    actor_name: str,
    argument_json: str,
    message_id: str,
    timestamp_ms: int,
    eta_ms: int | None,
) -> str:
    """The message a ``send`` of one JSON argument writes, as text.

    Queue and actor names are identifiers, the id a UUID and the argument
    already JSON: nothing needs escaping.
    """
    eta = "" if eta_ms is None else f',"eta":{eta_ms}'
    return (
        f'{{"queue_name":"{queue_name}","actor_name":"{actor_name}",'
        f'"args":[{argument_json}],"kwargs":{{}},'
        f'"options":{{"redis_message_id":"{message_id}"{eta}}},'
        f'"message_id":"{message_id}","message_timestamp":{timestamp_ms}}}'
    )


def encode_plain(
    queue_name: str,
    actor_name: str,
    argument_json: str,
    message_id: str,
    timestamp_ms: int,
    eta_ms: int | None,
) -> bytes:
    """The same message, written by Dramatiq's own ``Message.encode()``."""
    options: dict[str, Any] = {"redis_message_id": message_id}
    if eta_ms is not None:
        options["eta"] = eta_ms
    message: Message[Any] = Message(
        queue_name=queue_name,
        actor_name=actor_name,
        args=(json.loads(argument_json),),
        kwargs={},
        options=options,
        message_id=message_id,
        message_timestamp=timestamp_ms,
    )
    return message.encode()


def message_ids(n: int) -> list[str]:
    """``n`` fresh version-4 UUIDs, as ``str(uuid.uuid4())`` writes them.

    A fresh message's Redis id may be its message id: Dramatiq gives every
    later enqueue (a retry) a new Redis id of its own.
    """
    raw = os.urandom(16 * n).hex()
    ids = []
    for at in range(0, 32 * n, 32):
        h = raw[at : at + 32]
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}")
    return ids


def plain_message_ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}

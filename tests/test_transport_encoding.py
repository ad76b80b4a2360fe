"""The transport's fast paths agree with their plain twins: messages written
straight into text decode as the ones Dramatiq's ``Message.encode()``
writes, and the fast message ids are version-4 UUIDs as ``uuid4`` makes."""

from __future__ import annotations

import json
import uuid

from hypothesis import given
from hypothesis import strategies as st

from events import Event
from tests.support import purchase
from tests.test_ids_and_keys import IDS
from workers.transport.encoding import encode, encode_plain, message_ids, plain_message_ids

NAMES = st.from_regex(r"[a-z][a-z_]{0,20}(\.DQ)?", fullmatch=True)


@given(
    queue=NAMES,
    actor=st.from_regex(r"[A-Z][A-Za-z]{0,30}", fullmatch=True),
    sub=IDS,
    product=st.text(min_size=1, max_size=64).filter(lambda t: t.isprintable()),
    stamp=st.integers(min_value=946_684_800_000, max_value=7_258_118_400_000),
    eta=st.none() | st.integers(min_value=0, max_value=7_258_118_400_000),
)
def test_the_fast_encoding_writes_the_message_dramatiq_would(
    queue: str, actor: str, sub: str, product: str, stamp: int, eta: int | None
) -> None:
    event: Event = purchase(sub, product=product)
    rid = str(uuid.uuid4())
    fast = encode(queue, actor, event.canonical(), rid, stamp, eta)
    plain = encode_plain(queue, actor, event.canonical(), rid, stamp, eta)
    assert json.loads(fast) == json.loads(plain)
    assert list(json.loads(fast)) == list(json.loads(plain))  # the same field order


def test_fast_message_ids_are_fresh_version_4_uuids_like_the_plain_ones() -> None:
    for make in (message_ids, plain_message_ids):
        ids = make(1000)
        assert len(set(ids)) == 1000
        for rid in ids:
            parsed = uuid.UUID(rid)
            assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
            assert str(parsed) == rid

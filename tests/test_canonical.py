"""The canonical text's fast twin (orjson) writes the bytes of its plain
twin (the standard library), the definition the fingerprints were taken
with: over random wire forms, and over every event of the catalogue as
published."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import Event
from events.base import fingerprint_of
from events.canonical import canonical_bytes, fast_bytes, plain_bytes
from events.catalogue import EVENT_ADAPTER
from events.edge import parse_upstream
from events.examples import EXAMPLES

KEYS = st.text(max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.integers()  # beyond 64 bits too: orjson refuses them, the plain twin writes them
    | st.text()
)
WIRES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=20,
)


@given(wire=st.dictionaries(KEYS, WIRES, max_size=8))
def test_the_canonical_text_is_the_plain_twins_whatever_the_values(wire: dict[str, Any]) -> None:
    assert canonical_bytes(wire) == plain_bytes(wire)


@given(wire=st.dictionaries(KEYS, WIRES, max_size=8))
def test_where_orjson_writes_a_wire_form_it_writes_the_plain_twins_bytes(
    wire: dict[str, Any],
) -> None:
    try:
        fast = fast_bytes(wire)
    except TypeError:
        return  # an integer beyond 64 bits: canonical_bytes takes the plain twin
    assert fast == plain_bytes(wire)


def test_the_twins_part_ways_on_floats_so_no_event_carries_one() -> None:
    """orjson writes 1.5e-07 as 1.5e-7: the fast twin is sound only because
    no event's wire form holds a float (an amount is whole yen). A float
    field would fail here before it could change a fingerprint."""
    assert fast_bytes({"a": 1.5e-07}) != plain_bytes({"a": 1.5e-07})
    kinds: set[str] = set()
    untyped: list[str] = []

    def walk(schema: Any, where: str) -> None:
        if not isinstance(schema, dict):
            return
        if not schema.keys() & {"type", "$ref", "anyOf", "oneOf", "allOf", "const", "enum"}:
            untyped.append(where)  # a field of any type could hold a float
        kind = schema.get("type")
        kinds.update(kind if isinstance(kind, list) else [kind] if kind else [])
        for keyword in ("properties", "$defs"):
            for name, sub in schema.get(keyword, {}).items():
                walk(sub, f"{where}.{name}")
        for keyword in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for k, sub in enumerate(schema.get(keyword, [])):
                walk(sub, f"{where}[{k}]")
        for keyword in ("items", "additionalProperties"):
            walk(schema.get(keyword), f"{where}.{keyword}")

    walk(EVENT_ADAPTER.json_schema(mode="serialization"), "$")
    assert {"string", "integer"} <= kinds  # the walk reached the fields
    assert "number" not in kinds
    assert not untyped


def test_escapes_and_key_order_are_the_definitions() -> None:
    controls = "".join(chr(i) for i in range(0x20)) + '\x7f\u2028\u2029\ufeff\\"日本語\U0001f600'
    wire = {"b": controls, "a": [1, True, None, -5], "é": 0, "Z": {"z": 1, "A": 2, "e": 3}}
    assert fast_bytes(wire) == plain_bytes(wire)
    assert canonical_bytes(wire).startswith(b'{"Z":{"A":2,"e":3,"z":1},"a":[1,true,null,-5]')


def test_a_lone_surrogate_is_refused_as_the_definition_refuses_it() -> None:
    with pytest.raises(UnicodeEncodeError):
        plain_bytes({"a": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        canonical_bytes({"a": "\ud800"})


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_catalogued_event_keeps_the_fingerprint_of_the_plain_twin(name: str) -> None:
    event: Event = parse_upstream(EXAMPLES[name])
    wire = event.wire()
    definition = json.dumps(wire, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert event.canonical() == definition
    assert event.fingerprint() == hashlib.sha256(definition.encode()).hexdigest()[:32]
    assert fingerprint_of(definition) == fingerprint_of(definition.encode())

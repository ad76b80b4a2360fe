"""An upstream in JavaScript compiles our schema as it is, with Ajv in strict
mode, and gets subcycle's verdict on every event the schema can judge."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from events import json_schema
from events.catalogue import EVENT_ADAPTER
from events.examples import EXAMPLES
from events.schema import DIALECT
from events.types import normalise_phone
from tests.ajv_support import ajv
from tests.schema_cases import ONLY_SUBCYCLE, SAME_VERDICT, subcycle_accepts
from tests.test_schema_patterns import FULL_WIDTH, accepted, matches, shapes

RELEASED = Path(__file__).resolve().parent.parent / "schema" / "events.v1.json"


def verdicts(documents: list[Any], schema: Any = None) -> list[bool]:
    result = ajv(json_schema() if schema is None else schema, documents)
    assert result["compiled"], result["error"]
    return [v["valid"] for v in result["verdicts"]]


@pytest.mark.parametrize("strict", ["default", "all"])
def test_the_schema_compiles_in_strict_mode_without_a_warning(strict: str) -> None:
    result = ajv(json_schema(), strict=strict)
    assert result["compiled"], result["error"]
    assert result["warnings"] == []


def test_the_released_schema_compiles_in_strict_mode_too() -> None:
    result = ajv(json.loads(RELEASED.read_text(encoding="utf-8")), strict="all")
    assert result["compiled"], result["error"]
    assert result["warnings"] == []


def test_pydantics_own_schema_is_what_strict_ajv_refused() -> None:
    """Why subcycle schema is not EVENT_ADAPTER.json_schema(): the issue's failure."""
    result = ajv({"$schema": DIALECT, **EVENT_ADAPTER.json_schema()})
    assert not result["compiled"]
    assert 'unknown keyword: "discriminator"' in result["error"]


def test_every_example_is_valid_in_ajv() -> None:
    assert verdicts(list(EXAMPLES.values())) == [True] * len(EXAMPLES)


def test_ajv_and_subcycle_give_the_same_verdict_on_every_event_the_schema_can_judge() -> None:
    names = list(SAME_VERDICT)
    found = verdicts([SAME_VERDICT[name][0] for name in names])
    disagree = [
        f"{name}: Ajv {'valid' if by_ajv else 'invalid'}, subcycle "
        f"{'accepts' if subcycle_accepts(SAME_VERDICT[name][0]) else 'refuses'}"
        for name, by_ajv in zip(names, found, strict=True)
        if by_ajv != SAME_VERDICT[name][1] or by_ajv != subcycle_accepts(SAME_VERDICT[name][0])
    ]
    assert not disagree


def test_what_only_subcycle_judges_ajv_admits_and_subcycle_refuses() -> None:
    assert verdicts(list(ONLY_SUBCYCLE.values())) == [True] * len(ONLY_SUBCYCLE)
    assert not any(subcycle_accepts(doc) for doc in ONLY_SUBCYCLE.values())


# The patterns mean the same in ECMAScript ------------------------------------


def field_schema(event: str, field: str) -> dict[str, Any]:
    return {"$schema": DIALECT, **json_schema()["$defs"][event]["properties"][field]}


def test_ajv_judges_every_phone_range_in_every_shape_as_subcycle_does() -> None:
    numbers = []
    for lead in range(100, 1000):
        for length in 9, 10:
            for text in shapes(str(lead) + "5" * (length - 3)):
                numbers += [text, text.translate(FULL_WIDTH)]
    found = verdicts(numbers, field_schema("OtpRequested", "phone"))
    wrong = [n for n, v in zip(numbers, found, strict=True) if v != accepted(normalise_phone, n)]
    assert not wrong


def test_ajv_reads_the_timestamp_and_event_id_patterns_as_python_does() -> None:
    rng = random.Random(18)
    texts = [
        f"{rng.choice([1999, 2000, 2026, 2199, 2200, 2201])}-{rng.randint(0, 13):02}-"
        f"{rng.randint(0, 32):02}T{rng.randint(0, 24):02}:{rng.randint(0, 60):02}"
        f"{rng.choice(['', ':00', ':60', ':30.5', ':30.1234567'])}"
        f"{rng.choice(['Z', '', '+09:00', '-14:00', '+14:01', '+13:59', '+09:60'])}"
        for _ in range(3000)
    ]
    ids = [
        rng.choice(["expiry:", "month-end:", "pos-", "", "otp", "tick:"])
        + "".join(rng.choices("ab:-.@_ 9é", k=rng.randint(0, 6)))
        for _ in range(1000)
    ]
    schema = json_schema()
    for field, values in [("occurred_at", texts), ("event_id", ids)]:
        pattern = schema["$defs"]["ExpiryTick"]["properties"][field]["pattern"]
        found = verdicts(values, field_schema("ExpiryTick", field))
        assert found == [matches(pattern, v) for v in values], field

"""The released schemas in schema/ are promises to every point of sale that
publishes: today's models must not break any of them (docs/schema.md says
how a breaking change is introduced beside the old shape instead)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from events import json_schema
from events.base import KNOWN_VERSIONS, SCHEMA_VERSION
from events.compat import compare, render
from events.schema import SCHEMA_ID

RELEASED = sorted((Path(__file__).resolve().parent.parent / "schema").glob("events.v*.json"))


def released(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_current_version_has_a_released_schema() -> None:
    assert [p.name for p in RELEASED] == [f"events.v{v}.json" for v in KNOWN_VERSIONS]
    assert released(RELEASED[-1])["$id"] == SCHEMA_ID == f"urn:subcycle:events:v{SCHEMA_VERSION}"


@pytest.mark.parametrize("path", RELEASED, ids=lambda p: p.name)
def test_todays_models_break_no_publisher_of_a_released_schema(path: Path) -> None:
    changes = compare(released(path), json_schema())
    breaking = [c for c in changes if c.breaking]
    assert not breaking, (
        f"the event models break publishers of {path.name}:\n{render(changes)}"
        "Introduce the change as a new schema_version beside the old shape (docs/schema.md)."
    )


@pytest.mark.parametrize("path", RELEASED, ids=lambda p: p.name)
def test_a_released_schema_names_its_version_in_its_id(path: Path) -> None:
    version = re.fullmatch(r"events\.v([0-9]+)\.json", path.name)
    assert version is not None
    assert released(path)["$id"] == f"urn:subcycle:events:v{version.group(1)}"

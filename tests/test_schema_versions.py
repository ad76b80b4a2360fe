"""How a breaking change arrives (docs/schema.md), proven on a rehearsal: a
second version of CancellationRequested that requires a new field.

Changed in place, the model breaks every publisher of schema/events.v1.json
and the release check says so; beside the old shape, as version 2, it
breaks none, old events read as before and new ones say their version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from pydantic import Discriminator, Field, Tag, TypeAdapter, ValidationError

from events import catalogue as c
from events.compat import Change, compare
from events.edge import _describe
from events.examples import EXAMPLES
from events.schema import json_schema, openapi_components
from events.types import Identifier

RELEASED = json.loads(
    (Path(__file__).resolve().parent.parent / "schema" / "events.v1.json").read_text("utf-8")
)
CANCEL = EXAMPLES["CancellationRequested"]
CANCEL_V2 = {**CANCEL, "event_id": "lp-3", "schema_version": 2, "reason": "price"}


class CancellationRequestedV2(c.Event):
    type: Literal["CancellationRequested"] = "CancellationRequested"
    schema_version: Literal[2]
    subscription_id: Identifier
    kind: Literal["monthly_service", "auto_renewal"]
    reason: Literal["price", "other"]


class CancellationRequestedInPlace(c.Event):
    """The same change made the wrong way: the only shape the type has."""

    type: Literal["CancellationRequested"] = "CancellationRequested"
    subscription_id: Identifier
    kind: Literal["monthly_service", "auto_renewal"]
    reason: Literal["price", "other"]


def _version_tag(raw: Any) -> str:
    version = raw.get("schema_version", 1) if isinstance(raw, dict) else raw.schema_version
    return "2" if version == 2 else "1"  # anything else: version 1 refuses it by name


CANCELLATION = Annotated[
    Annotated[c.CancellationRequested, Tag("1")] | Annotated[CancellationRequestedV2, Tag("2")],
    Discriminator(_version_tag),
]


def catalogue_with(cancellation: Any) -> TypeAdapter[Any]:
    others = [t for t in c.EVENT_TYPES.values() if t is not c.CancellationRequested]
    union: Any = cancellation
    for event_type in others:
        union = union | event_type
    return TypeAdapter(Annotated[union, Field(discriminator="type")])


VERSIONED = catalogue_with(CANCELLATION)
EXAMPLES_V2 = {**EXAMPLES, "CancellationRequestedV2": CANCEL_V2}


def test_changing_the_model_in_place_breaks_the_released_schema() -> None:
    today = json_schema(catalogue_with(CancellationRequestedInPlace))
    breaking = [change for change in compare(RELEASED, today) if change.breaking]
    assert Change("CancellationRequested.reason", "new required field", True) in breaking


def test_a_second_version_beside_the_first_breaks_no_publisher() -> None:
    today = json_schema(VERSIONED, EXAMPLES_V2)
    assert compare(RELEASED, today) == [
        Change("CancellationRequested v2", "new schema_version 2 beside the old shape", False)
    ]


def test_both_shapes_are_in_the_schema_and_each_judges_its_own_events() -> None:
    schema = json_schema(VERSIONED, EXAMPLES_V2)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(CANCEL)
    assert validator.is_valid(CANCEL_V2)
    assert not validator.is_valid({k: v for k, v in CANCEL_V2.items() if k != "reason"})
    assert not validator.is_valid({**CANCEL, "reason": "price"})


def test_the_openapi_flavour_maps_the_type_to_its_versions() -> None:
    schemas = openapi_components(VERSIONED, EXAMPLES_V2)["schemas"]
    mapping = schemas["Event"]["discriminator"]["mapping"]
    assert mapping["CancellationRequested"] == (
        "#/components/schemas/CancellationRequestedVersions"
    )
    assert len(schemas["CancellationRequestedVersions"]["oneOf"]) == 2


def test_an_event_that_does_not_say_keeps_its_shape_and_its_wire_form() -> None:
    event = VERSIONED.validate_python(CANCEL)
    assert type(event) is c.CancellationRequested
    assert "schema_version" not in event.wire()


def test_an_event_that_says_version_2_gets_the_new_shape_and_keeps_saying_so() -> None:
    event = VERSIONED.validate_python(CANCEL_V2)
    assert type(event) is CancellationRequestedV2
    assert event.wire()["schema_version"] == 2
    assert VERSIONED.validate_python(event.wire()) == event


def test_a_version_2_event_missing_the_new_field_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError) as caught:
        VERSIONED.validate_python({k: v for k, v in CANCEL_V2.items() if k != "reason"})
    assert [str(_describe(e)) for e in caught.value.errors()] == ["reason: field required"]

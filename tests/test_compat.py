"""The compatibility check (events/compat.py): a change that makes an event
valid under the old schema invalid under the new one breaks publishers;
the rest is safe. Each kind of change, on a small catalogue of two events."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from events import json_schema
from events.compat import Change, NotACatalogue, compare, render

ID = {"type": "string", "pattern": "^[a-z0-9-]{1,16}$", "maxLength": 16}
VERSION = {"type": "integer", "enum": [1], "default": 1}


def event(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "type": {"const": name, "type": "string"},
            "event_id": ID,
            "schema_version": VERSION,
            **fields,
        },
        "required": ["type", "event_id"],
    }


def catalogue(*shapes: dict[str, Any]) -> dict[str, Any]:
    defs = {}
    for shape in shapes:
        name = shape["properties"]["type"]["const"]
        version = shape["properties"]["schema_version"].get("const", 1)
        defs[name if version == 1 else f"{name}V{version}"] = shape
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:test:v1",
        "oneOf": [{"$ref": f"#/$defs/{key}"} for key in defs],
        "$defs": defs,
    }


CONSENT = event("Consent", subscription_id=ID)
CANCEL = event(
    "Cancel",
    subscription_id=ID,
    kind={"type": "string", "enum": ["monthly", "auto"]},
    note={"type": "string", "maxLength": 40},
    term={"anyOf": [{"type": "integer", "minimum": 1, "maximum": 3}, {"type": "null"}]},
    locale={"type": "string", "enum": ["ja", "en"], "default": "ja"},
)
CANCEL["required"] = [*CANCEL["required"], "subscription_id", "kind"]
OLD = catalogue(CONSENT, CANCEL)


def changed(edit: Any) -> list[Change]:
    """The changes from OLD to OLD with ``edit`` applied to its Cancel event."""
    new = copy.deepcopy(OLD)
    edit(new["$defs"]["Cancel"])
    return compare(OLD, new)


def only(changes: list[Change]) -> Change:
    [change] = changes
    return change


def field(name: str, **schema: Any) -> Any:
    def edit(shape: dict[str, Any]) -> None:
        shape["properties"][name] = schema

    return edit


def test_a_schema_compared_with_itself_has_no_changes() -> None:
    assert compare(OLD, copy.deepcopy(OLD)) == []
    assert compare(json_schema(), json_schema()) == []


# Breaking for publishers -----------------------------------------------------


def test_removing_an_event_type_breaks() -> None:
    change = only(compare(OLD, catalogue(CONSENT)))
    assert change == Change("Cancel", "event type removed", True)


def test_a_new_required_field_breaks() -> None:
    def edit(shape: dict[str, Any]) -> None:
        shape["properties"]["reason"] = {"type": "string"}
        shape["required"].append("reason")

    assert only(changed(edit)) == Change("Cancel.reason", "new required field", True)


def test_an_optional_field_becoming_required_breaks() -> None:
    change = only(changed(lambda shape: shape["required"].append("note")))
    assert change == Change("Cancel.note", "new required field", True)


def test_a_narrowed_type_breaks() -> None:
    change = only([c for c in changed(field("note", type="integer")) if c.breaking])
    assert change.breaking
    assert change.where == "Cancel.note"
    assert "type narrowed" in change.what


def test_a_value_that_may_no_longer_be_null_breaks() -> None:
    changes = changed(field("term", type="integer", minimum=1, maximum=3))
    assert [c.breaking for c in changes] == [True]
    assert changes[0].where == "Cancel.term (alternative 2)"


def test_a_narrowed_enum_breaks_naming_the_value_refused() -> None:
    change = only(changed(field("kind", type="string", enum=["monthly"])))
    assert change == Change("Cancel.kind", '"auto" no longer allowed', True)


@pytest.mark.parametrize(
    ("schema", "what"),
    [
        ({"type": "string", "maxLength": 20}, "maxLength 40 → 20"),
        ({"type": "string", "maxLength": 40, "minLength": 2}, "minLength 2 added"),
        ({"type": "string", "maxLength": 40, "pattern": "^[a-z]*$"}, "pattern now"),
    ],
)
def test_a_narrowed_length_or_a_new_pattern_breaks(schema: dict[str, Any], what: str) -> None:
    change = only(changed(field("note", **schema)))
    assert change.breaking
    assert change.what.startswith(what)


def test_a_changed_pattern_breaks_because_it_cannot_be_proven_wider() -> None:
    def edit(shape: dict[str, Any]) -> None:
        shape["properties"]["event_id"] = {**ID, "pattern": "^[a-z0-9._-]{1,16}$"}

    change = only(changed(edit))
    assert change.breaking
    assert change.where == "Cancel.event_id"
    assert "not proven wider" in change.what


def test_lower_bounds_raised_and_upper_bounds_lowered_break() -> None:
    changes = changed(
        field("term", anyOf=[{"type": "integer", "minimum": 2, "maximum": 2}, {"type": "null"}])
    )
    assert {c.what for c in changes} == {"minimum 1 → 2", "maximum 3 → 2"}
    assert all(c.breaking for c in changes)


def test_extra_fields_newly_refused_break() -> None:
    old = copy.deepcopy(OLD)
    old["$defs"]["Cancel"]["additionalProperties"] = True
    assert Change("Cancel", "extra fields newly refused", True) in compare(old, OLD)


def test_removing_a_field_breaks_when_extra_fields_are_refused() -> None:
    change = only(changed(lambda shape: shape["properties"].pop("note")))
    assert change == Change("Cancel.note", "field removed: events that send it are refused", True)


def test_a_changed_default_breaks_because_events_that_omit_it_mean_something_else() -> None:
    change = only(changed(field("locale", type="string", enum=["ja", "en"], default="en")))
    assert change.breaking
    assert "events that omit it mean something else" in change.what


def test_a_new_conditional_rule_breaks() -> None:
    def edit(shape: dict[str, Any]) -> None:
        shape["if"] = {"properties": {"kind": {"const": "auto"}}}
        shape["then"] = {"required": ["note"]}

    assert only(changed(edit)) == Change("Cancel", "if/then/else changed", True)


def test_removing_a_schema_version_breaks_its_publishers() -> None:
    v2 = event("Cancel", subscription_id=ID)
    v2["properties"]["schema_version"] = {"type": "integer", "const": 2}
    v2["required"] = [*v2["required"], "schema_version"]
    both = catalogue(CONSENT, CANCEL, v2)
    assert compare(both, catalogue(CONSENT, CANCEL)) == [
        Change("Cancel v2", "schema_version 2 removed", True)
    ]


def test_two_shapes_of_one_type_that_both_take_an_omitted_version_break() -> None:
    v2 = event("Cancel", subscription_id=ID)
    v2["properties"]["schema_version"] = {"type": "integer", "const": 2}
    changes = compare(OLD, catalogue(CONSENT, CANCEL, v2))
    assert Change("Cancel", "two shapes accept an event that omits schema_version", True) in (
        changes
    )


# Safe ------------------------------------------------------------------------


def test_a_new_optional_field_is_safe() -> None:
    change = only(changed(field("channel", type="string")))
    assert change == Change("Cancel.channel", "new optional field", False)


def test_a_new_event_type_is_safe() -> None:
    change = only(compare(catalogue(CONSENT), OLD))
    assert change == Change("Cancel", "new event type", False)


def test_a_widened_enum_is_safe() -> None:
    change = only(changed(field("kind", type="string", enum=["monthly", "auto", "all"])))
    assert change == Change("Cancel.kind", '"all" now allowed', False)


def test_a_field_no_longer_required_is_safe() -> None:
    change = only(changed(lambda shape: shape["required"].remove("kind")))
    assert change == Change("Cancel.kind", "no longer required", False)


def test_widened_lengths_and_removed_patterns_are_safe() -> None:
    def edit(shape: dict[str, Any]) -> None:
        shape["properties"]["note"] = {"type": "string", "maxLength": 80}
        shape["properties"]["event_id"] = {"type": "string", "maxLength": 16}

    changes = changed(edit)
    assert {c.what for c in changes} == {"maxLength 40 → 80", "pattern removed"}
    assert not any(c.breaking for c in changes)


def test_a_value_that_may_now_also_be_null_is_safe() -> None:
    changes = changed(field("note", anyOf=[{"type": "string", "maxLength": 40}, {"type": "null"}]))
    assert changes
    assert not any(c.breaking for c in changes)


def test_annotations_are_listed_as_safe() -> None:
    changes = changed(field("note", type="string", maxLength=40, description="why"))
    assert changes == [Change("Cancel.note", "description changed", False)]


def test_a_new_schema_version_beside_the_old_shape_is_safe() -> None:
    v2 = event("Cancel", subscription_id=ID, reason={"type": "string"})
    v2["properties"]["schema_version"] = {"type": "integer", "const": 2}
    v2["required"] = [*v2["required"], "schema_version", "reason"]
    change = only(compare(OLD, catalogue(CONSENT, CANCEL, v2)))
    assert change == Change("Cancel v2", "new schema_version 2 beside the old shape", False)


def test_a_new_event_type_in_the_real_catalogue_is_found_through_its_refs() -> None:
    today = json_schema()
    earlier = copy.deepcopy(today)
    earlier["oneOf"] = [b for b in earlier["oneOf"] if not b["$ref"].endswith("/ExpiryTick")]
    assert compare(earlier, today) == [Change("ExpiryTick", "new event type", False)]


# The report and what it refuses ----------------------------------------------


def test_the_report_lists_breaking_changes_first_and_counts_them() -> None:
    changes = [Change("B", "safe thing", False), Change("A", "bad thing", True)]
    assert render(changes) == (
        "breaking  A: bad thing\nsafe      B: safe thing\n"
        "1 breaking change(s) for publishers, 1 safe\n"
    )
    assert render([]) == "no changes\n"


@pytest.mark.parametrize(
    "document",
    [
        [],
        {},
        {"oneOf": [{"type": "object"}]},
        {"oneOf": [{"$ref": "#/$defs/Missing"}], "$defs": {}},
        {"oneOf": [{"$ref": "https://elsewhere.example/schema.json"}]},
    ],
)
def test_a_document_that_is_not_an_event_catalogue_is_refused(document: Any) -> None:
    with pytest.raises(NotACatalogue):
        compare(document, OLD)

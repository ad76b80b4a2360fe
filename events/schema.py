"""The event contract for upstreams in any language (docs/schema.md).

Two flavours of one description, both made from the models:

- ``json_schema()``: plain JSON Schema 2020-12, what ``subcycle schema``
  prints and ``schema/events.v1.json`` holds. Any validator compiles it as
  it is (Ajv in strict mode, Python's jsonschema): pydantic's ``discriminator``
  is an OpenAPI keyword that strict validators refuse, and the events need
  none, since each one's ``type`` is a required constant.
- ``openapi_components()``: the same events as OpenAPI 3.1 components, with
  ``discriminator`` kept for the tools that read it (the HTTP API's
  ``/openapi.json``).

The schema describes what subcycle accepts from an upstream: ``type`` is
required (the models default it, the edge does not), derived event ids are
refused, and each type carries its example from ``events.examples``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from events.base import SCHEMA_VERSION
from events.catalogue import EVENT_ADAPTER
from events.examples import EXAMPLES

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Stable: it names the newest version of the shapes the document describes,
# so it changes only when a new version is introduced (docs/schema.md).
SCHEMA_ID = f"urn:subcycle:events:v{SCHEMA_VERSION}"
TITLE = "subcycle events"
DESCRIPTION = (
    "One JSON object per event, as subcycle accepts it from an upstream. Rules only "
    "subcycle judges: a date the month lacks (2026-02-30), a timestamp whose Tokyo date "
    "falls outside 2000-01-01 … 2199-12-31, a number written with a fraction (550.0), "
    "a duplicate key, and event_id reuse with another payload."
)


def json_schema(
    adapter: TypeAdapter[Any] = EVENT_ADAPTER,
    examples: Mapping[str, Mapping[str, Any]] = EXAMPLES,
) -> dict[str, Any]:
    """The whole catalogue as plain JSON Schema 2020-12: one flat ``oneOf``
    of event shapes, a type's versions side by side."""
    catalogue = _catalogue(adapter, examples, "#/$defs/{model}")
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": TITLE,
        "description": DESCRIPTION,
        "oneOf": [shape for branch in catalogue["oneOf"] for shape in _versions(branch)],
        "$defs": catalogue["$defs"],
    }


def openapi_components(
    adapter: TypeAdapter[Any] = EVENT_ADAPTER,
    examples: Mapping[str, Mapping[str, Any]] = EXAMPLES,
) -> dict[str, Any]:
    """The catalogue as OpenAPI 3.1 ``components``: every event shape, and
    ``Event`` (one of them, told apart by ``type``) for a request body. A
    type with two versions is one component of its own (``…Versions``), so
    the discriminator maps each type to one schema, as OpenAPI requires."""
    catalogue = _catalogue(adapter, examples, "#/components/schemas/{model}")
    schemas = dict(catalogue["$defs"])
    mapping = dict(catalogue["discriminator"]["mapping"])
    branches = list(catalogue["oneOf"])
    for name, target in mapping.items():
        if isinstance(target, Mapping):  # pydantic inlines a type's versions
            schemas[f"{name}Versions"] = target
            mapping[name] = f"#/components/schemas/{name}Versions"
            branches[branches.index(target)] = {"$ref": mapping[name]}
    event = {
        "title": "Event",
        "description": DESCRIPTION,
        "oneOf": branches,
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }
    return {"schemas": {**schemas, "Event": event}}


def _catalogue(
    adapter: TypeAdapter[Any], examples: Mapping[str, Mapping[str, Any]], ref_template: str
) -> dict[str, Any]:
    catalogue = copy.deepcopy(adapter.json_schema(ref_template=ref_template))
    for name, shape in catalogue["$defs"].items():
        _as_accepted_from_upstreams(shape)
        if name in examples:
            shape["examples"] = [dict(examples[name])]
    return catalogue


def _versions(branch: dict[str, Any]) -> list[dict[str, Any]]:
    return list(branch["oneOf"]) if "oneOf" in branch else [branch]


def _as_accepted_from_upstreams(shape: dict[str, Any]) -> None:
    # The models default ``type`` (our own code builds events without it);
    # the edge requires it: an object without one is no event.
    shape["properties"]["type"].pop("default", None)
    shape["required"] = ["type", *shape["required"]]

"""Would today's schema break the publishers of an earlier one?

``compare(old, new)`` lists every difference between two documents of the
event catalogue (the layout ``subcycle schema`` prints: a ``oneOf`` of event
shapes, each an object whose ``type`` is a constant) and marks a change
**breaking** when an event valid under the old document could be invalid
under the new one, or mean something else (a changed default); **safe**
otherwise. Events are matched by ``type`` and ``schema_version``, so a new
version beside the old shape is a safe addition and removing one breaks.

What cannot be proven wider is called breaking: a changed pattern, a new or
changed conditional rule. If a reviewer sees it only widens, the released
file is refreshed in the same commit (docs/schema.md).

This module reads plain JSON (no pydantic, nothing of subcycle's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from events.compat_rules import Change, Documents


class NotACatalogue(ValueError):
    """The document is not an event catalogue this module can compare."""


__all__ = ["Change", "NotACatalogue", "compare", "render"]

_Key = tuple[str, int]


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones marked."""
    docs = Documents(old, new)
    try:
        old_shapes, new_shapes = _shapes(old, docs.old), _shapes(new, docs.new)
    except LookupError as e:
        raise NotACatalogue(str(e)) from None
    changes = _document(old, new)
    compared: set[tuple[int, int]] = set()
    for key, shape in old_shapes.items():
        if key not in new_shapes:
            changes.append(Change(_label(key), _removed(key, new_shapes), True))
            continue
        pair = (id(shape), id(new_shapes[key]))
        if pair not in compared:
            compared.add(pair)
            changes.extend(docs.compare(shape, new_shapes[key], _label(key)))
    for key in sorted(new_shapes.keys() - old_shapes.keys()):
        changes.append(Change(_label(key), _added(key, old_shapes), False))
    changes.extend(_ambiguous_defaults(new_shapes))
    return changes


def render(changes: list[Change]) -> str:
    """One line per change, breaking first, and a closing count."""
    ordered = sorted(changes, key=lambda c: (not c.breaking, c.where, c.what))
    breaking = sum(c.breaking for c in changes)
    summary = (
        f"{breaking} breaking change(s) for publishers, {len(changes) - breaking} safe"
        if changes
        else "no changes"
    )
    return "".join(f"{c}\n" for c in ordered) + summary + "\n"


def _shapes(doc: Mapping[str, Any], resolve: Any) -> dict[_Key, Mapping[str, Any]]:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("oneOf"), list):
        raise LookupError("not an event catalogue: no oneOf of event types at the top")
    shapes: dict[_Key, Mapping[str, Any]] = {}
    for branch in doc["oneOf"]:
        shape = resolve(branch)
        name = shape.get("properties", {}).get("type", {}).get("const")
        if not isinstance(name, str):
            raise LookupError("not an event catalogue: an event shape has no constant type")
        for version in _versions(shape):
            shapes[(name, version)] = shape
    return shapes


def _versions(shape: Mapping[str, Any]) -> list[int]:
    """The schema_versions a shape admits; before versions existed, 1."""
    field = shape.get("properties", {}).get("schema_version")
    if not isinstance(field, Mapping):
        return [1]
    values = field.get("enum", [field["const"]] if "const" in field else [1])
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _label(key: _Key) -> str:
    name, version = key
    return name if version == 1 else f"{name} v{version}"


def _removed(key: _Key, new: Mapping[_Key, Any]) -> str:
    if any(name == key[0] for name, _ in new):
        return f"schema_version {key[1]} removed"
    return "event type removed"


def _added(key: _Key, old: Mapping[_Key, Any]) -> str:
    if any(name == key[0] for name, _ in old):
        return f"new schema_version {key[1]} beside the old shape"
    return "new event type"


def _ambiguous_defaults(shapes: Mapping[_Key, Mapping[str, Any]]) -> list[Change]:
    """Two shapes of one type that both take an event omitting schema_version
    leave oneOf unable to choose: every such event becomes invalid."""
    optional: dict[str, set[int]] = {}
    for (name, _), shape in shapes.items():
        if "schema_version" not in shape.get("required", []):
            optional.setdefault(name, set()).add(id(shape))
    return [
        Change(name, "two shapes accept an event that omits schema_version", True)
        for name, found in sorted(optional.items())
        if len(found) > 1
    ]


def _document(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = []
    if old.get("$schema") != new.get("$schema"):
        changes.append(Change("document", f"dialect changed to {new.get('$schema')}", True))
    for key in "$id", "title", "description":
        if old.get(key) != new.get(key):
            changes.append(Change("document", f"{key} changed", False))
    return changes

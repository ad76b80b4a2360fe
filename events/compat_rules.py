"""Keyword by keyword: does a subschema admit every value the old one did?

``Documents.compare(old, new, where)`` walks two JSON Schema subschemas (each
resolved in its own document) and returns a ``Change`` per difference.
Narrowing a type, a set of values, a bound or the fields an object may
carry breaks; widening is safe; what cannot be judged is breaking.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    where: str
    what: str
    breaking: bool

    def __str__(self) -> str:
        return f"{'breaking' if self.breaking else 'safe':<8}  {self.where}: {self.what}"


ANNOTATIONS = {"title", "description", "examples", "deprecated", "readOnly", "writeOnly"}
ANNOTATIONS |= {"$comment", "contentMediaType", "contentEncoding"}
LOWER = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
UPPER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
EXACT = ("pattern", "format")
# Rules whose effect this module does not take apart: any change may narrow.
OPAQUE: tuple[str, ...] = ("allOf", "not", "dependentRequired", "dependentSchemas")
OPAQUE += ("propertyNames", "patternProperties", "unevaluatedProperties", "prefixItems")
OPAQUE += ("contains", "uniqueItems", "minContains", "maxContains", "unevaluatedItems")
OPAQUE += ("multipleOf",)
CONDITIONAL: tuple[str, ...] = ("if", "then", "else")
ALTERNATIVES = ("anyOf", "oneOf")
STRUCTURE = {"type", "enum", "const", "required", "properties", "additionalProperties", "items"}
HANDLED = ANNOTATIONS | STRUCTURE | {"default", "$ref", "$defs", "$id", "$schema"}
HANDLED |= set(LOWER + UPPER + EXACT + OPAQUE + CONDITIONAL + ALTERNATIVES)
_DEPTH = 32


class Documents:
    """The old and the new document, to resolve each side's ``$ref``s."""

    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old: Callable[[Any], Any] = lambda schema: _resolve(old, schema)
        self.new: Callable[[Any], Any] = lambda schema: _resolve(new, schema)

    def compare(self, old: Any, new: Any, where: str) -> list[Change]:
        old, new = self._side(self.old, old), self._side(self.new, new)
        if old == new:
            return []
        if old is False:
            return [Change(where, "admits values now", False)]
        if new is False:
            return [Change(where, "admits nothing now", True)]
        alternatives = [k for k in ALTERNATIVES if k in old or k in new]
        one_sided = any((k in old) != (k in new) for k in alternatives)
        changes = _annotations(old, new, where)
        if not one_sided:
            changes += _core(old, new, where)
            changes += self._properties(old, new, where)
            if "items" in old or "items" in new:
                changes += self.compare(
                    old.get("items", True), new.get("items", True), where + "[]"
                )
        if alternatives:
            changes += self._alternatives(old, new, where)
        for key in sorted((old.keys() | new.keys()) - HANDLED):
            if old.get(key) != new.get(key):
                changes.append(Change(where, f"unknown keyword {key} changed", True))
        return changes

    @staticmethod
    def _side(resolve: Callable[[Any], Any], schema: Any) -> Any:
        """Resolved, with ``true`` as ``{}`` and its alternatives resolved too."""
        schema = resolve(schema)
        if schema is True:
            return {}
        if not isinstance(schema, Mapping):
            return schema
        found = {k: [resolve(a) for a in schema[k]] for k in ALTERNATIVES if k in schema}
        return {**schema, **found}

    def _properties(
        self, old: Mapping[str, Any], new: Mapping[str, Any], where: str
    ) -> list[Change]:
        changes = []
        for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
            changes.append(Change(f"{where}.{name}", "new required field", True))
        for name in sorted(set(old.get("required", [])) - set(new.get("required", []))):
            changes.append(Change(f"{where}.{name}", "no longer required", False))
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_extra, new_extra = (
            old.get("additionalProperties", True),
            new.get("additionalProperties", True),
        )
        for name in sorted(old_props.keys() | new_props.keys()):
            here = f"{where}.{name}"
            if name in old_props and name in new_props:
                changes += self.compare(old_props[name], new_props[name], here)
            elif name in old_props and new_extra is False:
                changes.append(Change(here, "field removed: events that send it are refused", True))
            elif name in old_props:
                changes += self.compare(old_props[name], new_extra, here)
            elif name not in new.get("required", []):
                if old_extra is False:
                    changes.append(Change(here, "new optional field", False))
                else:
                    changes += self.compare(old_extra, new_props[name], here)
        if old_extra is not False and new_extra is False:
            changes.append(Change(where, "extra fields newly refused", True))
        elif old_extra is False and new_extra is not False:
            changes.append(Change(where, "extra fields now allowed", False))
        elif isinstance(old_extra, Mapping) or isinstance(new_extra, Mapping):
            changes += self.compare(old_extra, new_extra, where + "[extra]")
        return changes

    def _alternatives(
        self, old: Mapping[str, Any], new: Mapping[str, Any], where: str
    ) -> list[Change]:
        """Each old alternative must be admitted by some new one."""
        old_alts, new_alts = _alternatives_of(old), _alternatives_of(new)
        if not new_alts:
            return [Change(where, "no alternative admitted", True)]
        changes: list[Change] = []
        used: set[int] = set()
        for i, alt in enumerate(old_alts, 1):
            tries = [
                (
                    _type_set(alt) != _type_set(n),
                    self.compare(alt, n, f"{where} (alternative {i})"),
                    j,
                )
                for j, n in enumerate(new_alts)
            ]
            # The closest: of the same type if any, then with the fewest breaks.
            _, found, j = min(tries, key=lambda t: (t[0], sum(c.breaking for c in t[1]), len(t[1])))
            used.add(j)
            changes += found
        for j, alt in enumerate(new_alts):
            if j not in used:
                changes.append(Change(where, f"new alternative {_summary(self.new(alt))}", False))
        return changes


def _core(old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[Change]:
    changes = _types(old, new, where) + _values(old, new, where)
    old_types, new_types = _type_set(old), _type_set(new)

    def matters(key: str) -> bool:
        # A bound constrains only its own type: a minimum added where the old
        # schema admitted only null narrows nothing (the type change is listed).
        if key not in new:
            return _applies(key, new_types)
        return _applies(key, old_types)

    for key in LOWER + UPPER:
        if matters(key):
            changes += _bound(key, old.get(key), new.get(key), key in LOWER, where)
    for key in EXACT:
        if old.get(key) != new.get(key) and matters(key):
            if key not in new:
                changes.append(Change(where, f"{key} removed", False))
            else:
                was = f" (was {old[key]!r})" if key in old else ""
                changes.append(
                    Change(where, f"{key} now {new[key]!r}{was}: not proven wider", True)
                )
    for keys in [(k,) for k in OPAQUE] + [CONDITIONAL]:
        before, after = [old.get(k) for k in keys], [new.get(k) for k in keys]
        if before != after:
            name = "/".join(keys)
            gone = all(v is None for v in after)
            changes.append(Change(where, f"{name} {'removed' if gone else 'changed'}", not gone))
    return changes


def _annotations(old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[Change]:
    changes = [
        Change(where, f"{key} changed", False)
        for key in sorted(ANNOTATIONS)
        if old.get(key) != new.get(key)
    ]
    if "default" in old and "default" in new and old["default"] != new["default"]:
        what = f"default now {new['default']!r} (was {old['default']!r})"
        what += ": events that omit it mean something else"
        changes.append(Change(where, what, True))
    elif old.get("default") != new.get("default"):
        changes.append(
            Change(where, "default added" if "default" in new else "default removed", False)
        )
    return changes


def _types(old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[Change]:
    was, now = _type_set(old), _type_set(new)
    if was == now:
        return []
    if now is None:
        return [Change(where, "type no longer restricted", False)]
    lost = sorted(t for t in (was or {"any"}) if not _covers(now, t))
    if lost:
        return [Change(where, f"type narrowed to {sorted(now)}: {lost} refused", True)]
    return [Change(where, f"type widened to {sorted(now)}", False)]


def _values(old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[Change]:
    was, now = _value_set(old), _value_set(new)
    if was == now:
        return []
    if now is None:
        return [Change(where, "values no longer restricted", False)]
    if was is None:
        return [Change(where, f"values restricted to {_listed(now)}", True)]
    changes = []
    if was - now:
        changes.append(Change(where, f"{_listed(was - now)} no longer allowed", True))
    if now - was:
        changes.append(Change(where, f"{_listed(now - was)} now allowed", False))
    return changes


def _listed(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


def _bound(key: str, was: Any, now: Any, lower: bool, where: str) -> list[Change]:
    if was == now:
        return []
    if now is None:
        return [Change(where, f"{key} {was} removed", False)]
    if was is None:
        return [Change(where, f"{key} {now} added", True)]
    narrower = now > was if lower else now < was
    return [Change(where, f"{key} {was} → {now}", narrower)]


def _type_set(schema: Any) -> frozenset[str] | None:
    """The JSON types a schema admits, alternatives included; None for any."""
    if not isinstance(schema, Mapping):
        return None
    if "type" in schema:
        kind = schema["type"]
        return frozenset([kind] if isinstance(kind, str) else kind)
    alts = _alternatives_of(schema)
    if len(alts) > 1:
        found = [_type_set(a) for a in alts]
        if all(f is not None for f in found):
            return frozenset().union(*[f for f in found if f is not None])
    return None


_KIND_OF = {"Length": "string", "imum": "number", "Items": "array", "Properties": "object"}


def _applies(key: str, types: frozenset[str] | None) -> bool:
    if types is None:
        return True
    if key in EXACT:
        return "string" in types
    kind = next(kind for end, kind in _KIND_OF.items() if key.endswith(end))
    return any(_covers(frozenset([kind]), t) for t in types)


def _covers(types: frozenset[str], kind: str) -> bool:
    return kind in types or (kind == "integer" and "number" in types)


def _value_set(schema: Mapping[str, Any]) -> frozenset[str] | None:
    # As JSON text, so true and 1 stay apart (Python holds True == 1).
    if "enum" in schema:
        return frozenset(json.dumps(v, sort_keys=True) for v in schema["enum"])
    if "const" in schema:
        return frozenset([json.dumps(schema["const"], sort_keys=True)])
    return None


def _alternatives_of(schema: Mapping[str, Any]) -> list[Any]:
    for key in ALTERNATIVES:
        if key in schema:
            return list(schema[key])
    return [{k: v for k, v in schema.items() if k not in ANNOTATIONS and k != "default"}]


def _summary(schema: Any) -> str:
    if isinstance(schema, Mapping) and "type" in schema:
        return f"of type {schema['type']}"
    return json.dumps(schema, sort_keys=True)[:60]


def _resolve(doc: Mapping[str, Any], schema: Any) -> Any:
    """``schema`` with its local ``$ref`` followed (siblings kept, as 2020-12 does)."""
    for _ in range(_DEPTH):
        if not isinstance(schema, Mapping) or "$ref" not in schema:
            return schema
        ref = str(schema["$ref"])
        base = str(doc.get("$id", ""))
        if base and ref.startswith(base + "#"):
            ref = ref[len(base) :]
        if not ref.startswith("#"):
            raise LookupError(f"cannot follow $ref {ref!r}: only refs within the document")
        target: Any = doc
        for part in filter(None, ref[1:].split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or part not in target:
                raise LookupError(f"$ref {ref!r} points nowhere in the document")
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    raise LookupError("$ref chain too deep")

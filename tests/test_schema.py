"""The exported schema is a contract an upstream's validator compiles as it is,
and it judges events as subcycle does (docs/schema.md). Python's jsonschema
is the validator here; tests/test_schema_ajv.py runs JavaScript's Ajv."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from events import EVENT_TYPES, QUEUE_OF, json_schema, openapi_components
from events.examples import EXAMPLES
from events.schema import DIALECT, SCHEMA_ID
from subcycle.cli import main
from tests.schema_cases import ONLY_SUBCYCLE, SAME_VERDICT, subcycle_accepts

README = Path(__file__).resolve().parent.parent / "README.md"

# Every keyword of the JSON Schema 2020-12 vocabularies.
VOCABULARIES = {
    "core": "$schema $id $ref $anchor $dynamicRef $dynamicAnchor $vocabulary $comment $defs",
    "applicator": "prefixItems items contains additionalProperties properties "
    "patternProperties dependentSchemas propertyNames if then else allOf anyOf oneOf not",
    "unevaluated": "unevaluatedItems unevaluatedProperties",
    "validation": "type const enum multipleOf maximum exclusiveMaximum minimum "
    "exclusiveMinimum maxLength minLength pattern maxItems minItems uniqueItems "
    "maxContains minContains maxProperties minProperties required dependentRequired",
    "meta-data": "title description default deprecated readOnly writeOnly examples",
    "format-annotation": "format",
    "content": "contentEncoding contentMediaType contentSchema",
}
KEYWORDS_2020_12 = {word for words in VOCABULARIES.values() for word in words.split()}
# Where the value is a map of names to schemas, or plain data, not a schema.
NAMED_SCHEMAS = {"properties", "patternProperties", "$defs", "dependentSchemas"}
DATA = {"const", "enum", "default", "examples", "required", "dependentRequired"}


def keywords(schema: Any) -> Iterator[str]:
    if isinstance(schema, list):
        for item in schema:
            yield from keywords(item)
        return
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        yield key
        if key in NAMED_SCHEMAS:
            for sub in value.values():
                yield from keywords(sub)
        elif key not in DATA:
            yield from keywords(value)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_schema_declares_its_dialect_and_a_stable_id() -> None:
    schema = json_schema()
    assert schema["$schema"] == DIALECT == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID == "urn:subcycle:events:v1"
    assert json_schema() == schema


def test_the_schema_uses_no_keyword_outside_json_schema_2020_12() -> None:
    """No OpenAPI ``discriminator``: strict validators refuse what they don't know."""
    unknown = set(keywords(json_schema())) - KEYWORDS_2020_12
    assert not unknown


def test_the_schema_compiles_in_pythons_jsonschema(
    validator: jsonschema.Draft202012Validator,
) -> None:
    assert validator.is_valid(EXAMPLES["ExpiryTick"])


def test_every_event_type_has_an_example_and_each_is_valid_against_the_schema(
    validator: jsonschema.Draft202012Validator,
) -> None:
    schema = json_schema()
    assert set(EXAMPLES) == set(EVENT_TYPES)
    for name, shape in schema["$defs"].items():
        [example] = shape["examples"]
        assert example == EXAMPLES[name]
        assert example["type"] == name
        assert not list(validator.iter_errors(example)), name


def test_every_example_is_an_event_subcycle_accepts_from_an_upstream() -> None:
    for name, example in EXAMPLES.items():
        assert subcycle_accepts(example), name


def test_subcycle_publish_enqueues_every_example(
    cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "examples.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in EXAMPLES.values()))
    assert main(["publish", str(path)]) == 0
    assert f"enqueued {len(EXAMPLES)} event(s)" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(SAME_VERDICT))
def test_jsonschema_and_subcycle_give_the_same_verdict(
    name: str, validator: jsonschema.Draft202012Validator
) -> None:
    document, valid = SAME_VERDICT[name]
    assert subcycle_accepts(document) is valid
    assert validator.is_valid(document) is valid


@pytest.mark.parametrize("name", list(ONLY_SUBCYCLE))
def test_what_only_subcycle_judges_is_admitted_by_the_schema_and_refused_by_subcycle(
    name: str, validator: jsonschema.Draft202012Validator
) -> None:
    assert validator.is_valid(ONLY_SUBCYCLE[name])
    assert not subcycle_accepts(ONLY_SUBCYCLE[name])


# The OpenAPI flavour ---------------------------------------------------------


def _plain_refs(schema: Any) -> Any:
    """The OpenAPI document's schemas with their refs written as the JSON Schema's."""
    text = json.dumps(schema).replace('"#/components/schemas/', '"#/$defs/')
    return json.loads(text)


def openapi_shapes(components: dict[str, Any]) -> list[Any]:
    """The event shapes the OpenAPI ``Event`` is one of, a type's versions flattened."""
    found = []
    for branch in components["Event"]["oneOf"]:
        target = components[branch["$ref"].rsplit("/", 1)[1]]
        found += target.get("oneOf", [branch])
    return found


def test_the_openapi_components_describe_the_same_events_as_the_json_schema() -> None:
    plain = json_schema()
    components = openapi_components()["schemas"]
    assert _plain_refs(openapi_shapes(components)) == plain["oneOf"]
    shapes = {k: v for k, v in components.items() if k != "Event" and "oneOf" not in v}
    assert set(shapes) == set(plain["$defs"]) == set(EVENT_TYPES)
    for name, shape in shapes.items():
        same = plain["$defs"][name]
        assert shape["properties"].keys() == same["properties"].keys(), name
        assert shape["required"] == same["required"], name
        assert _plain_refs(shape) == same, name


def test_the_openapi_event_tells_types_apart_by_a_discriminator_over_every_type() -> None:
    event = openapi_components()["schemas"]["Event"]
    assert event["discriminator"]["propertyName"] == "type"
    assert event["discriminator"]["mapping"] == {
        name: f"#/components/schemas/{name}" for name in EVENT_TYPES
    }


# The README ------------------------------------------------------------------


def _readme_catalogue() -> dict[str, tuple[str, dict[str, Any]]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The event catalogue", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| `(\{.*\})` \|$", section, re.MULTILINE)
    return {name: (queue, json.loads(example)) for name, queue, example in rows}


def test_the_readme_catalogue_shows_the_schemas_examples_on_their_queues() -> None:
    table = _readme_catalogue()
    assert list(table) == list(EXAMPLES)
    for name, (queue, example) in table.items():
        assert example == EXAMPLES[name], name
        assert queue == QUEUE_OF[EVENT_TYPES[name]].value, name

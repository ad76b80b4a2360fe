"""The API's own OpenAPI document: valid OpenAPI 3.1, its events those of
``subcycle schema``, and the app living up to it (schemathesis: generated
requests, valid and not, never a 5xx, every answer as documented)."""

from __future__ import annotations

import json
from typing import Any

import fakeredis
import schemathesis
from fastapi import FastAPI
from openapi_spec_validator import validate
from pydantic import SecretStr
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from api.app import create_app
from api.services import Services
from events import json_schema
from subcycle.bootstrap import build
from subcycle.settings import Settings
from tests.conftest import Clock

ALL_SCOPES = ("events:*", "otp", "subscriptions:read", "charges:read", "operator")


def the_app() -> tuple[FastAPI, str]:
    """An app on its own fakeredis, with a key that may do everything."""
    from datetime import datetime

    from events import JST

    settings = Settings(
        env="development",
        redis_url="redis://unused",
        key_prefix="tcontract:",
        queue_namespace="tqcontract",
        otp_secret_file=None,
        otp_secret=SecretStr("contract-secret-0123456789abcdef-0123"),
    )
    app = build(
        settings,
        client=fakeredis.FakeRedis(server=fakeredis.FakeServer()),
        clock=Clock(datetime(2026, 7, 1, 12, 0, tzinfo=JST)),
    )
    key = app.store.api_keys.create("contract", frozenset(ALL_SCOPES), app.deps.clock())
    return create_app(Services.of(app.core)), key


def test_the_document_is_valid_openapi_3_1() -> None:
    document = the_app()[0].openapi()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_its_events_are_those_of_subcycle_schema() -> None:
    document = the_app()[0].openapi()["components"]["schemas"]
    plain = json_schema()["$defs"]
    for name, shape in plain.items():
        assert document[name]["properties"] == shape["properties"], name
        assert document[name]["required"] == shape["required"], name


def test_every_route_is_documented_with_its_errors_as_problem_documents() -> None:
    paths = the_app()[0].openapi()["paths"]
    assert {"/v1/events", "/v1/events/batch", "/v1/otp/verify", "/v1/charges"} <= set(paths)
    assert "422" in paths["/v1/events"]["post"]["responses"]


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """A batch as JSON lines: whatever text was generated, sent as it is."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


APP, KEY = the_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
def test_the_app_lives_up_to_its_document(case: Any) -> None:
    """No 5xx, every answer as documented. Left out: that every schema-valid
    request is accepted (the schema cannot say everything subcycle judges:
    a timestamp's Tokyo date at the calendar's edges, 30 February, an id
    already used; docs/schema.md), and that a request without the key is
    refused (the key is given to every request here; tests/test_api.py
    covers 401). Where the case's headers are the invalid part (the required
    ``Authorization`` left out, say), the key is not added: adding it would
    make the case valid again, and its 200 a false "accepted invalid data"."""
    headers_invalid = (
        case.meta is not None
        and (info := case.meta.components.get(ParameterLocation.HEADER)) is not None
        and info.mode is schemathesis.GenerationMode.NEGATIVE
    )
    case.call_and_validate(
        headers=None if headers_invalid else {"Authorization": f"Bearer {KEY}"},
        excluded_checks=[ignored_auth, positive_data_acceptance],
    )

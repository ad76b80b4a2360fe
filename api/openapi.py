"""The OpenAPI 3.1 document: FastAPI's, with the event catalogue's schemas
(the very models ``subcycle schema`` exports) as the request bodies the
event routes read themselves (TRAPS: FastAPI's own body parsing would lose
strict JSON-mode validation and our words)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.problems import PROBLEM_SCHEMA
from events import openapi_components

EVENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
    }
}
EVENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": 1000,
                    "items": {"$ref": "#/components/schemas/Event"},
                }
            },
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "one event per line"}
            },
        },
    }
}


def body_of(model: type[BaseModel]) -> dict[str, Any]:
    """An ``openapi_extra`` that documents a JSON body a route reads itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = document.setdefault("components", {})
        # The events exactly as ``subcycle schema`` describes them (events/schema.py).
        components.setdefault("schemas", {}).update(openapi_components()["schemas"])
        components["schemas"]["Problem"] = PROBLEM_SCHEMA
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "an API key"}
        }
        document["security"] = [{"bearer": []}]
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
